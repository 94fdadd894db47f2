"""SMART (Jiang et al. 2020, as in MT-DNN): smoothness-inducing adversarial regularisation.

The word embeddings (not position or token-type embeddings) get Gaussian noise σ, which K
gradient-ascent steps of size η push towards the largest symmetric KL between the clean and the
perturbed outputs, normalising the step by its per-token max-norm as MT-DNN does. The loss adds
α·symKL(clean, perturbed). An optional Bregman proximal term keeps the outputs near an EMA copy.
"""

from __future__ import annotations

import copy

import torch
from torch.nn.functional import kl_div, log_softmax

from road.core.tasks import TaskKind
from road.training.config import SmartConfig
from road.training.kd_losses import masked
from road.training.model import RoadStudent


def sym_kl(
    a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...], mask: torch.Tensor | None
) -> torch.Tensor:
    """MT-DNN's SymKlCriterion: KL(a‖b̄) + KL(b‖ā), each target detached, mean over outputs."""
    total = a[0].new_zeros(())
    for x, y in zip(a, b):
        x, y = (masked(x, mask), masked(y, mask)) if x.dim() == 2 and mask is not None else (x, y)
        lx, ly = log_softmax(x.float(), dim=-1), log_softmax(y.float(), dim=-1)
        total = total + kl_div(lx, ly.detach(), log_target=True, reduction="batchmean")
        total = total + kl_div(ly, lx.detach(), log_target=True, reduction="batchmean")
    return total / len(a)


def embedded_forward(
    student: RoadStudent, embeds: torch.Tensor, inputs: dict[str, torch.Tensor], task: str
) -> tuple[torch.Tensor, ...]:
    hidden = student.electra(
        inputs_embeds=embeds,
        attention_mask=inputs["attention_mask"],
        token_type_ids=inputs["token_type_ids"],
    ).last_hidden_state
    return student.select(student.heads(hidden), task)


def smart_loss(
    student: RoadStudent,
    inputs: dict[str, torch.Tensor],
    task: str,
    clean: tuple[torch.Tensor, ...],
    config: SmartConfig,
) -> torch.Tensor:
    """symKL between the clean outputs and those of the adversarially perturbed embeddings."""
    span = student.tasks[task].kind is TaskKind.SPAN_EXTRACTION
    mask = inputs["attention_mask"] if span else None
    embeds = student.electra.embeddings.word_embeddings(inputs["input_ids"])
    noise = (torch.randn_like(embeds) * config.sigma).requires_grad_()
    for _ in range(config.ascent_steps):
        perturbed = embedded_forward(student, embeds.detach() + noise, inputs, task)
        ascent = sym_kl(perturbed, tuple(x.detach() for x in clean), mask)
        (grad,) = torch.autograd.grad(ascent, noise)
        if not torch.isfinite(grad).all():
            return ascent.new_zeros(())  # MT-DNN skips the term when the ascent diverges
        noise = ascend(noise.detach(), grad, config.step_size, config.epsilon).requires_grad_()
    perturbed = embedded_forward(student, embeds + noise.detach(), inputs, task)
    return sym_kl(clean, perturbed, mask)


def ascend(
    noise: torch.Tensor, grad: torch.Tensor, step_size: float, epsilon: float
) -> torch.Tensor:
    """One ascent step, then MT-DNN's per-token max-norm (L∞) normalisation of the noise."""
    step = noise + step_size * grad
    return step / (step.abs().amax(-1, keepdim=True) + epsilon)


def make_ema(student: RoadStudent) -> RoadStudent:
    return copy.deepcopy(student).eval().requires_grad_(False)


@torch.no_grad()
def update_ema(ema: RoadStudent, student: RoadStudent, beta: float) -> None:
    """θ_ema ← β·θ_ema + (1−β)·θ, after every optimizer step."""
    for target, source in zip(ema.parameters(), student.parameters()):
        target.lerp_(source.detach(), 1 - beta)
