"""SMART on a tiny random student: the perturbation matters and the term is a proper divergence."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from road.training.config import SmartConfig
from road.training.model import RoadStudent
from road.training.smart import (
    ascend,
    embedded_forward,
    make_ema,
    smart_loss,
    sym_kl,
    update_ema,
)


@pytest.fixture
def student(tiny_init: Path) -> RoadStudent:
    return RoadStudent.from_pretrained(tiny_init).eval()


@pytest.fixture
def inputs() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 2000, (3, 9), generator=generator)
    mask = torch.ones(3, 9, dtype=torch.long)
    mask[2, 6:] = 0
    types = torch.zeros(3, 9, dtype=torch.long)
    types[:, 5:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def test_embedded_forward_matches_the_model_and_noise_changes_it(
    student: RoadStudent, inputs: dict[str, torch.Tensor]
) -> None:
    embeds = student.electra.embeddings.word_embeddings(inputs["input_ids"])
    with torch.no_grad():
        clean = student.select(student(**inputs), "nli")
        same = embedded_forward(student, embeds, inputs, "nli")
        noisy = embedded_forward(student, embeds + 0.5 * torch.randn_like(embeds), inputs, "nli")
    assert torch.allclose(same[0], clean[0], atol=1e-6)  # only the word embeddings were replaced
    assert (noisy[0] - clean[0]).abs().max() > 1e-3


def test_ascent_normalises_each_token_by_its_max_norm() -> None:
    noise, grad = torch.zeros(2, 3, 4), torch.randn(2, 3, 4)
    step = ascend(noise, grad, 1.0, 1e-6)
    assert torch.allclose(step.abs().amax(-1), torch.ones(2, 3), atol=1e-5)
    assert torch.equal(step.sign(), grad.sign())


@pytest.mark.parametrize("task", ["qa", "nli"])
def test_smart_term_is_finite_non_negative_and_trains_the_student(
    student: RoadStudent, inputs: dict[str, torch.Tensor], task: str
) -> None:
    student.train()
    torch.manual_seed(0)
    clean = student.select(student(**inputs), task)
    loss = smart_loss(student, inputs, task, clean, SmartConfig(ascent_steps=2))
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    grad = student.electra.embeddings.word_embeddings.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    head = student.qa_outputs if task == "qa" else student.nli_head.out_proj
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0


def test_sym_kl_is_symmetric_and_zero_on_equal_outputs() -> None:
    a, b = (torch.randn(4, 3),), (torch.randn(4, 3),)
    assert sym_kl(a, b, None).item() == pytest.approx(sym_kl(b, a, None).item(), rel=1e-6)
    assert sym_kl(a, b, None).item() > 0
    assert sym_kl(a, a, None).item() == pytest.approx(0.0, abs=1e-7)


def test_ema_moves_towards_the_student(student: RoadStudent) -> None:
    ema = make_ema(student)
    with torch.no_grad():
        for param in student.parameters():
            param.add_(1.0)
    before = next(ema.parameters()).clone()
    update_ema(ema, student, beta=0.75)
    after, now = next(ema.parameters()), next(student.parameters())
    assert torch.allclose(after, 0.75 * before + 0.25 * now)
    assert not any(p.requires_grad for p in ema.parameters())
