"""Distillation losses: temperature KD, teacher annealing, multi-teacher combination, span KD.

Shapes: classification logits are `[batch, classes]`; span logits are `[batch, positions]`,
position 0 being the [CLS] "no answer" (null) position. Several teachers stack on a leading
teacher axis: `[teachers, batch, ...]`.
"""

from __future__ import annotations

import torch
from torch.nn.functional import cross_entropy, kl_div, log_softmax, mse_loss

COMBINE_MODES = ("average", "weighted")


def masked(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Padding positions get the lowest logit, so they carry no probability mass."""
    if mask is None:
        return logits
    return logits.masked_fill(mask == 0, torch.finfo(logits.dtype).min)


def soft_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Hinton's KD: T²·KL(softmax(t/T) ‖ softmax(s/T)), batch mean.

    The T² keeps the gradient scale independent of T. KL differs from the soft cross-entropy
    only by the teacher's entropy, a constant, so both give the same gradients.
    """
    log_q = log_softmax(student / temperature, dim=-1)
    log_p = log_softmax(teacher / temperature, dim=-1)
    per_row = kl_div(log_q, log_p, log_target=True, reduction="none").sum(-1)
    return per_row.mean() * temperature**2


def span_kd(
    student: tuple[torch.Tensor, torch.Tensor],
    teacher: tuple[torch.Tensor, torch.Tensor],
    mask: torch.Tensor | None,
    temperature: float = 1.0,
) -> torch.Tensor:
    """KD on the start and on the end distribution (null position included), averaged."""
    losses = [
        soft_kl(masked(s, mask), masked(t, mask), temperature) for s, t in zip(student, teacher)
    ]
    return (losses[0] + losses[1]) / 2


def anneal_gold_weight(step: int, total_steps: int) -> float:
    """BAM teacher annealing: the gold label's share λ rises linearly from 0 to 1."""
    return min(max(step / max(total_steps, 1), 0.0), 1.0)


def mix_gold(gold_loss: torch.Tensor, kd_loss: torch.Tensor, gold_weight: float) -> torch.Tensor:
    """λ·CE(gold) + (1−λ)·KD; at T=1 the same as CE against the target λ·gold + (1−λ)·teacher."""
    return gold_weight * gold_loss + (1 - gold_weight) * kd_loss


def teacher_weights(correct: torch.Tensor, wrong_weight: float) -> torch.Tensor:
    """ROaD weights `[teachers, batch]` from which teachers predict the gold label.

    Wrong teachers get W, correct ones (M − n_wrong·W)/n_correct, so the weights sum to M;
    with no correct teacher every weight is 1 (a plain average).
    """
    teachers = correct.shape[0]
    n_correct = correct.sum(0, dtype=torch.float32)
    n_wrong = teachers - n_correct
    right = (teachers - n_wrong * wrong_weight) / n_correct.clamp(min=1)
    weights = torch.where(correct, right, torch.full_like(right, wrong_weight))
    return torch.where(n_correct > 0, weights, torch.ones_like(weights))


def combine_teachers(
    logits: torch.Tensor,
    gold: torch.Tensor,
    mode: str = "average",
    wrong_weight: float = 0.75,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """One teacher's logits `[batch, C]` from `[teachers, batch, C]`: Σ_m w_m·z_m / M.

    'average' uses w_m = 1 (MKD's plain average); 'weighted' uses ROaD's `teacher_weights`,
    judging correctness by each teacher's argmax (over unpadded positions) against `gold`.
    """
    if mode not in COMBINE_MODES:
        raise ValueError(f"unknown teacher combination {mode!r}; use one of {COMBINE_MODES}")
    if mode == "average" or logits.shape[0] == 1:
        return logits.mean(0)
    correct = masked(logits, mask).argmax(-1) == gold.unsqueeze(0)
    weights = teacher_weights(correct, wrong_weight).to(logits.dtype)
    return (weights.unsqueeze(-1) * logits).sum(0) / logits.shape[0]


def combine_span_teachers(
    start: torch.Tensor,
    end: torch.Tensor,
    gold: torch.Tensor,
    mode: str,
    wrong_weight: float,
    mask: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """For spans the ROaD rule applies to the start and the end distribution separately."""
    return (
        combine_teachers(start, gold[:, 0], mode, wrong_weight, mask),
        combine_teachers(end, gold[:, 1], mode, wrong_weight, mask),
    )


def span_cross_entropy(
    start: torch.Tensor, end: torch.Tensor, gold: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """Gold-span loss; padding positions are excluded from the softmax."""
    start_loss = cross_entropy(masked(start, mask), gold[:, 0])
    return (start_loss + cross_entropy(masked(end, mask), gold[:, 1])) / 2


def hidden_mse(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """MSE between (projected) student and teacher hidden states over unpadded tokens."""
    if mask is None:
        return mse_loss(student, teacher)
    keep = mask.bool()
    return mse_loss(student[keep], teacher[keep])
