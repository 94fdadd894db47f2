"""Teachers: frozen models of one task, from a `road train` checkpoint or any HF checkpoint."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    PreTrainedTokenizerBase,
)

from road.core.tasks import DEFAULT_TASKS, TaskKind, TaskSpec
from road.training.init import load_tokenizer, resolve_source
from road.training.model import RoadStudent

ROAD_ARCHITECTURE = "RoadStudent"


@dataclass
class TeacherOutput:
    """Spans: (start, end) logits; classes: (logits,) in the task's label order. Plus a layer."""

    logits: tuple[torch.Tensor, ...]
    hidden: torch.Tensor | None = None


@dataclass
class Teacher:
    source: str
    spec: TaskSpec
    model: nn.Module
    tokenizer: PreTrainedTokenizerBase
    # Classification heads of foreign checkpoints: their class index for each task label.
    label_order: list[int] | None = None

    @property
    def task(self) -> str:
        return self.spec.name

    # no_grad rather than inference_mode: the teacher's hidden states enter the student's loss,
    # and autograd refuses to save inference tensors for the backward pass.
    @torch.no_grad()
    def __call__(
        self, inputs: dict[str, torch.Tensor], hidden_layer: int | None = None
    ) -> TeacherOutput:
        want_hidden = hidden_layer is not None
        if isinstance(self.model, RoadStudent):
            encoded = self.model.electra(**inputs, output_hidden_states=want_hidden)
            logits = self.model.select(self.model.heads(encoded.last_hidden_state), self.task)
        else:
            if getattr(self.model.config, "type_vocab_size", 2) < 2:
                inputs = {k: v for k, v in inputs.items() if k != "token_type_ids"}
            encoded = self.model(**inputs, output_hidden_states=want_hidden)
            if self.spec.kind is TaskKind.SPAN_EXTRACTION:
                logits = (encoded.start_logits, encoded.end_logits)
            else:
                logits = (encoded.logits[:, self.label_order],)
        hidden = encoded.hidden_states[hidden_layer] if want_hidden else None
        return TeacherOutput(tuple(x.float() for x in logits), hidden)

    def fingerprint(self) -> str:
        """A hash of the teacher's config and every weight: a changed teacher is a new teacher."""
        digest = hashlib.sha256(self.model.config.to_json_string(use_diff=False).encode())
        digest.update(json.dumps([self.task, self.label_order]).encode())
        for name, tensor in sorted(self.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()


def load_teacher(source: str, task: TaskSpec | str) -> Teacher:
    """A frozen teacher of `task` (a spec, or a default task's name) in eval mode; `source` is a
    checkpoint dir, HF dir or hub id."""
    if isinstance(task, str):
        task = DEFAULT_TASKS[task]
    path = resolve_source(source)
    config = AutoConfig.from_pretrained(path)
    label_order = None
    model: nn.Module
    if ROAD_ARCHITECTURE in (config.architectures or []):
        model = RoadStudent.from_pretrained(path)
    elif task.kind is TaskKind.SPAN_EXTRACTION:
        model = AutoModelForQuestionAnswering.from_pretrained(path)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(path)
        label_order = label_order_of(model.config.id2label, task.labels)
    model.eval().requires_grad_(False)
    return Teacher(source, task, model, load_tokenizer(source), label_order)


def label_order_of(id2label: dict[int, str], labels: tuple[str, ...]) -> list[int]:
    """Where each of the task's labels sits in a foreign classifier's output."""
    index = {str(label).lower(): int(i) for i, label in id2label.items()}
    missing = [label for label in labels if label not in index]
    if missing:
        raise ValueError(f"teacher labels {sorted(index)} lack the task's labels {missing}")
    return [index[label] for label in labels]


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """A hash of the fast tokenizer's definition (vocab, normaliser, special tokens).

    Truncation and padding are left out: road's encoders set their own (see core/tokenizer.py).
    """
    definition = json.loads(tokenizer.backend_tokenizer.to_str())
    definition.pop("truncation", None)
    definition.pop("padding", None)
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()


def check_same_tokenizer(teacher: Teacher, student_tokenizer: PreTrainedTokenizerBase) -> None:
    """Soft targets are per token position, so teacher and student must tokenize alike."""
    if tokenizer_fingerprint(teacher.tokenizer) != tokenizer_fingerprint(student_tokenizer):
        raise ValueError(
            f"teacher {teacher.source!r} tokenizes differently from the student; "
            "road distils only between models that share a tokenizer"
        )
