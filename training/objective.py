"""The training objective of one micro-batch: gold loss, distillation, SMART, Bregman term.

`Trainee` is what Accelerate wraps (in DDP on several processes): the student plus the modules
that train alongside it, with one forward that returns the loss, so every parameter's gradient
flows through the one wrapped call that DDP synchronises.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.functional import cross_entropy

from road.core.tasks import GRAPH_INPUTS, TaskKind
from road.training.config import TrainConfig
from road.training.distill import Distillation
from road.training.kd_losses import (
    anneal_gold_weight,
    combine_span_teachers,
    combine_teachers,
    hidden_mse,
    mix_gold,
    soft_kl,
    span_cross_entropy,
    span_kd,
)
from road.training.model import RoadStudent
from road.training.smart import smart_loss, sym_kl


@dataclass
class StepTargets:
    """What a micro-batch is distilled towards, besides its gold labels."""

    # Per task output, the logits of every teacher stacked: `[teachers, batch, ...]`.
    teacher_logits: tuple[torch.Tensor, ...] | None = None
    teacher_hidden: torch.Tensor | None = None
    # The EMA model's outputs, for SMART's Bregman proximal term.
    ema_logits: tuple[torch.Tensor, ...] | None = None
    gold_weight: float = 1.0


class Trainee(nn.Module):
    """The student, plus per-task projections onto a teacher layer for the hidden-state MSE.

    The loss is chosen by the task's kind: span cross-entropy (and span KD) for span
    extraction, weighted cross-entropy (and soft-label KD) for classification.
    """

    def __init__(
        self, student: RoadStudent, config: TrainConfig, teacher_hidden: dict[str, int]
    ) -> None:
        super().__init__()
        self.student, self.config = student, config
        self.kinds = {task.name: TaskKind(task.kind) for task in config.task_defs}
        width = student.config.hidden_size
        for task in config.task_defs:
            if task.class_weights:
                weights = [task.class_weights.get(label, 1.0) for label in task.labels]
                # A buffer, so it follows the module to the training device.
                self.register_buffer(
                    f"class_weights_{task.name}", torch.tensor(weights), persistent=False
                )
        self.projections = nn.ModuleDict(
            {task: nn.Linear(width, size) for task, size in sorted(teacher_hidden.items())}
        )

    def forward(
        self, task: str, batch: dict[str, torch.Tensor], targets: StepTargets
    ) -> dict[str, torch.Tensor]:
        """The micro-batch's loss (`loss`) and its named parts, for logging."""
        inputs = {name: batch[name] for name in GRAPH_INPUTS}
        gold, mask = batch["targets"], inputs["attention_mask"]
        span = self.kinds[task] is TaskKind.SPAN_EXTRACTION
        span_mask = mask if span else None
        want_hidden = targets.teacher_hidden is not None
        encoded = self.student.electra(**inputs, output_hidden_states=want_hidden)
        # Losses in fp32 whatever the autocast precision of the encoder.
        logits = self.student.select(self.student.heads(encoded.last_hidden_state), task)
        outputs = tuple(output.float() for output in logits)
        if span:
            parts = {"gold": span_cross_entropy(*outputs, gold, mask)}
        else:
            weight = getattr(self, f"class_weights_{task}", None)
            parts = {"gold": cross_entropy(outputs[0], gold, weight=weight)}
        loss = parts["gold"]
        distill, smart = self.config.distill, self.config.smart
        if targets.teacher_logits is not None and distill is not None:
            parts["kd"] = self._kd(task, outputs, targets.teacher_logits, gold, span_mask)
            loss = mix_gold(parts["gold"], parts["kd"], targets.gold_weight)
        if want_hidden and distill is not None:
            layer = encoded.hidden_states[distill.student_layer]
            projected = self.projections[task](layer)
            parts["hidden"] = hidden_mse(projected, targets.teacher_hidden, mask)
            loss = loss + distill.hidden_mse * parts["hidden"]
        if smart is not None and smart.weight > 0:
            parts["smart"] = smart_loss(self.student, inputs, task, outputs, smart)
            loss = loss + smart.weight * parts["smart"]
        if smart is not None and targets.ema_logits is not None:
            parts["bregman"] = sym_kl(outputs, targets.ema_logits, span_mask)
            loss = loss + smart.bregman_weight * parts["bregman"]
        return {"loss": loss, **parts}

    def _kd(
        self,
        task: str,
        outputs: tuple[torch.Tensor, ...],
        teachers: tuple[torch.Tensor, ...],
        gold: torch.Tensor,
        mask: torch.Tensor | None,
    ) -> torch.Tensor:
        distill = self.config.distill
        assert distill is not None
        if self.kinds[task] is TaskKind.SPAN_EXTRACTION:
            start, end = teachers
            combined = combine_span_teachers(
                start, end, gold, distill.combine, distill.wrong_weight, mask
            )
            return span_kd((outputs[0], outputs[1]), combined, mask, distill.temperature)
        teacher = combine_teachers(teachers[0], gold, distill.combine, distill.wrong_weight)
        return soft_kl(outputs[0], teacher, distill.temperature)


def gold_weight(config: TrainConfig, step: int) -> float:
    """The gold loss's share at `step`: 1 without distillation, BAM's λ when annealing."""
    distill = config.distill
    if distill is None:
        return 1.0
    return anneal_gold_weight(step, config.steps) if distill.anneal else distill.gold_weight


def step_targets(
    distillation: Distillation | None,
    ema: RoadStudent | None,
    task: str,
    rows: list[int],
    batch: dict[str, torch.Tensor],
    weight: float,
) -> StepTargets:
    """The teachers' logits (and layer) and the EMA model's outputs for one micro-batch."""
    fields = distillation.targets(task, rows, batch) if distillation is not None else {}
    if ema is not None:
        with torch.no_grad():
            inputs = {name: batch[name] for name in GRAPH_INPUTS}
            fields["ema_logits"] = ema.select(ema(**inputs), task)
    return StepTargets(gold_weight=weight, **fields)
