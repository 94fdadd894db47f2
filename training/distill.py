"""Distillation inputs per training step: cached teacher logits, and online teacher layers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from road.core.tasks import GRAPH_INPUTS, TaskKind
from road.training.config import DistillConfig, TrainConfig
from road.training.features import TaskFeatures
from road.training.kd_losses import COMBINE_MODES
from road.training.soft_targets import SoftTargets, build_soft_targets
from road.training.teachers import (
    Teacher,
    check_same_tokenizer,
    load_teacher,
    tokenizer_fingerprint,
)

# Per kind, the task settings that shape its training rows (the rows' tokens are hashed too).
PREPROCESSING: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.SPAN_EXTRACTION: (
        "max_seq_len", "doc_stride", "max_question_tokens", "negative_fraction",
        "same_article_fraction", "train_limit",
    ),
    TaskKind.CLASSIFICATION: ("max_seq_len", "train_limit", "class_weights"),
}  # fmt: skip


def preprocessing(config: TrainConfig, task: str, tokenizer: PreTrainedTokenizerBase) -> dict:
    """What shapes a task's training rows: the tokenizer, its window settings, the seed."""
    definition = config.tasks()[task]
    kind = TaskKind(definition.kind)
    settings = {
        key: value for key, value in asdict(definition).items() if key in PREPROCESSING[kind]
    }
    extra = {"negative_seed": config.seed} if kind is TaskKind.SPAN_EXTRACTION else {}
    return {"task": task, "tokenizer": tokenizer_fingerprint(tokenizer), **settings, **extra}


class Distillation:
    """Every teacher's soft targets per task; the first teacher also runs online for layer MSE."""

    def __init__(
        self,
        config: DistillConfig,
        soft: dict[str, list[SoftTargets]],
        online: dict[str, Teacher],
    ) -> None:
        self.config, self.soft, self.online = config, soft, online

    @classmethod
    def build(
        cls,
        config: TrainConfig,
        features: dict[str, TaskFeatures],
        tokenizer: PreTrainedTokenizerBase,
        device: torch.device,
        bf16: bool = False,
    ) -> Distillation:
        """`bf16`: the student trains under bf16 autocast, so the teachers' logits are computed
        in it too (their cache is keyed on it)."""
        distill = config.distill
        assert distill is not None
        if distill.combine not in COMBINE_MODES:
            raise ValueError(f"distill.combine={distill.combine!r}; use one of {COMBINE_MODES}")
        unknown = set(distill.teachers) - set(features)
        if unknown:
            raise ValueError(f"teachers for tasks {sorted(unknown)} that the config does not train")
        soft: dict[str, list[SoftTargets]] = {}
        online: dict[str, Teacher] = {}
        for task, sources in sorted(distill.teachers.items()):
            soft[task] = []
            for source in sources:
                teacher = load_teacher(source, config.tasks()[task].spec)
                check_same_tokenizer(teacher, tokenizer)
                soft[task].append(
                    build_soft_targets(
                        teacher,
                        features[task],
                        preprocessing(config, task, tokenizer),
                        Path(distill.cache_dir),
                        distill.cache_batch_size,
                        distill.cache_shard_rows,
                        device,
                        bf16,
                    )
                )
                if distill.hidden_mse > 0 and task not in online:
                    online[task] = teacher
                    teacher.model.to(device)
                else:
                    teacher.model.to("cpu")  # its logits are cached; free the accelerator
        return cls(distill, soft, online)

    def hidden_sizes(self) -> dict[str, int]:
        return {task: t.model.config.hidden_size for task, t in self.online.items()}

    def targets(
        self, task: str, indices: Sequence[int], batch: dict[str, torch.Tensor]
    ) -> dict[str, Any]:
        """StepTargets fields for these rows: stacked teacher logits and the teacher layer."""
        if task not in self.soft:
            return {}
        width = batch["input_ids"].shape[1]
        per_teacher = [cache.batch(indices, width) for cache in self.soft[task]]
        device = batch["input_ids"].device
        stacked = tuple(torch.stack(outs).to(device) for outs in zip(*per_teacher))
        fields: dict[str, Any] = {"teacher_logits": stacked}
        if task in self.online:
            inputs = {name: batch[name] for name in GRAPH_INPUTS}
            fields["teacher_hidden"] = self.online[task](inputs, self.config.teacher_layer).hidden
        return fields
