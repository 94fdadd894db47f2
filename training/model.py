"""The multi-task student: one shared ELECTRA encoder with one head per task.

A span-extraction task gets a linear start/end head (`<name>_outputs`), a classification task
ELECTRA's sequence-classification head (`<name>_head`): the default tasks' state-dict keys,
`qa_outputs.*` and `nli_head.*`, are what they have always been. The heads are listed in the
model config (`road_tasks`); a config without that list (every checkpoint from before tasks
were data) has the default QA and NLI heads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from transformers import ElectraConfig, ElectraModel, ElectraPreTrainedModel

from road.core.tasks import DEFAULT_TASKS, NLI, TaskKind, TaskSpec


class ClassificationHead(nn.Module):
    """ELECTRA's sequence-classification head on the [CLS] state."""

    def __init__(self, config: ElectraConfig, num_labels: int) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.out_proj = nn.Linear(config.hidden_size, num_labels)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        x = self.dropout(hidden[:, 0])
        x = nn.functional.gelu(self.dense(x))
        return self.out_proj(self.dropout(x))


NLIHead = ClassificationHead


def head_name(spec: TaskSpec) -> str:
    """The head's module name, hence its state-dict prefix."""
    return f"{spec.name}_outputs" if spec.kind is TaskKind.SPAN_EXTRACTION else f"{spec.name}_head"


def _spec(entry: dict[str, Any]) -> TaskSpec:
    return TaskSpec(
        entry["name"],
        TaskKind(entry["kind"]),
        tuple(entry["outputs"]),
        tuple(entry.get("labels", ())),
        tuple(entry.get("fields", ())),
    )


def _entry(spec: TaskSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "kind": spec.kind.value,
        "outputs": list(spec.outputs),
        "labels": list(spec.labels),
        "fields": list(spec.fields),
    }


def _same_head(a: TaskSpec, b: TaskSpec) -> bool:
    return (a.kind, a.outputs, a.labels) == (b.kind, b.outputs, b.labels)


def config_tasks(config: ElectraConfig) -> list[TaskSpec]:
    """The heads a model config lists; the default two for configs from before the list."""
    entries = getattr(config, "road_tasks", None)
    if entries:
        return [_spec(entry) for entry in entries]
    labels = tuple(getattr(config, "nli_labels", NLI.labels))
    return [
        TaskSpec(t.name, t.kind, t.outputs, labels if t.labels else (), t.fields)
        for t in DEFAULT_TASKS.values()
    ]


class RoadStudent(ElectraPreTrainedModel):
    """Every head runs on every row, so one graph run answers every task's rows alike.

    Loads from any ELECTRA checkpoint (`electra.*` keys) with `from_pretrained`; heads missing
    from the checkpoint start from random.
    """

    def __init__(self, config: ElectraConfig) -> None:
        super().__init__(config)
        self.electra = ElectraModel(config)
        self.tasks: dict[str, TaskSpec] = {}
        self._add_heads(config_tasks(config))
        self.post_init()

    def _add_heads(self, specs: Sequence[TaskSpec]) -> None:
        for spec in specs:
            if spec.kind is TaskKind.SPAN_EXTRACTION:
                head: nn.Module = nn.Linear(self.config.hidden_size, 2)
            else:
                head = ClassificationHead(self.config, len(spec.labels))
            self.add_module(head_name(spec), head)
            self.tasks[spec.name] = spec
        self.config.road_tasks = [_entry(spec) for spec in self.tasks.values()]

    def set_tasks(self, specs: Sequence[TaskSpec], keep: bool = False) -> RoadStudent:
        """Give the model these tasks' heads: new ones start from random; with `keep`, heads
        of other tasks stay (a resumed run's optimizer state covers them)."""
        for name, spec in list(self.tasks.items()):
            wanted = next((s for s in specs if s.name == name), None)
            if (wanted is None and not keep) or (
                wanted is not None and not _same_head(wanted, spec)
            ):
                delattr(self, head_name(spec))
                del self.tasks[name]
        new = [spec for spec in specs if spec.name not in self.tasks]
        self._add_heads(new)
        for spec in new:
            getattr(self, head_name(spec)).apply(self._init_weights)
        return self

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> RoadStudent:  # type: ignore[override]
        """As transformers', but in fp32 unless asked otherwise: compact checkpoints are fp16."""
        kwargs.setdefault("dtype", torch.float32)
        return super().from_pretrained(*args, **kwargs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(name for spec in self.tasks.values() for name in spec.outputs)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        hidden = self.electra(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return self.heads(hidden)

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Every head's outputs from the encoder's last hidden states, in `output_names` order."""
        outputs: list[torch.Tensor] = []
        for spec in self.tasks.values():
            head = getattr(self, head_name(spec))
            if spec.kind is TaskKind.SPAN_EXTRACTION:
                outputs.extend(head(hidden).unbind(dim=-1))
            else:
                outputs.append(head(hidden))
        return tuple(outputs)

    def select(self, outputs: Sequence[torch.Tensor], task: str) -> tuple[torch.Tensor, ...]:
        """The outputs one task's loss reads: (start, end) for spans, (logits,) for classes."""
        names = self.output_names
        return tuple(outputs[names.index(name)] for name in self.tasks[task].outputs)


def copy_head(model: RoadStudent, source: RoadStudent, task: str) -> RoadStudent:
    """Load `task`'s head from `source`, which must define that task the same way."""
    mine, theirs = model.tasks.get(task), source.tasks.get(task)
    if mine is None or theirs is None or not _same_head(mine, theirs):
        raise ValueError(f"task {task!r}: no matching head in both models ({mine}, {theirs})")
    head = getattr(source, head_name(theirs))
    getattr(model, head_name(mine)).load_state_dict(head.state_dict())
    return model


def keep_layers(model: RoadStudent, indices: Sequence[int]) -> RoadStudent:
    """Keep only the given encoder layers (in order), making a smaller student."""
    layers = model.electra.encoder.layer
    if not indices or any(not 0 <= i < len(layers) for i in indices):
        raise ValueError(f"layer indices {list(indices)} outside 0..{len(layers) - 1}")
    model.electra.encoder.layer = nn.ModuleList([layers[i] for i in indices])
    model.config.num_hidden_layers = len(indices)
    return model


def set_attention_dropout(model: RoadStudent, p: float) -> RoadStudent:
    """Set the attention-probability dropout of every layer (and the saved config).

    At 0, PyTorch's SDPA runs its fused CPU kernel; with dropout it falls back to the math
    path and draws a Bernoulli mask over every attention matrix (half a QA step on CPU).
    """
    model.config.attention_probs_dropout_prob = p
    for name, module in model.named_modules():
        if name.endswith("attention.self.dropout") and isinstance(module, nn.Dropout):
            module.p = p
    return model
