"""Distillation losses against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn.functional import cross_entropy

from road.training.config import DistillConfig, TrainConfig
from road.training.kd_losses import (
    anneal_gold_weight,
    combine_span_teachers,
    combine_teachers,
    mix_gold,
    soft_kl,
    span_cross_entropy,
    span_kd,
    teacher_weights,
)
from road.training.objective import gold_weight


def kl(p: list[float], q: list[float]) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)


def softmax(z: list[float]) -> list[float]:
    exps = [math.exp(x) for x in z]
    return [e / sum(exps) for e in exps]


def test_soft_kl_at_temperature_one() -> None:
    # teacher [ln 3, 0] -> p = (3/4, 1/4); student [0, 0] -> q = (1/2, 1/2)
    student, teacher = torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert soft_kl(student, teacher, 1.0).item() == pytest.approx(expected, rel=1e-6)
    assert soft_kl(teacher, teacher, 1.0).item() == pytest.approx(0.0, abs=1e-7)


def test_soft_kl_is_scaled_by_temperature_squared() -> None:
    student, teacher = torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])
    # At T=2 the teacher's distribution is softmax([ln 3 / 2, 0]) = (√3, 1)/(1+√3).
    root = math.sqrt(3.0)
    p = [root / (1 + root), 1 / (1 + root)]
    expected = 4 * kl(p, [0.5, 0.5])
    assert soft_kl(student, teacher, 2.0).item() == pytest.approx(expected, rel=1e-6)
    # Batch mean: two identical rows give the same value as one.
    assert soft_kl(student.repeat(2, 1), teacher.repeat(2, 1), 2.0).item() == pytest.approx(
        expected, rel=1e-6
    )


@pytest.mark.parametrize(("step", "expected"), [(0, 0.0), (50, 0.5), (100, 1.0)])
def test_annealing_schedule(step: int, expected: float) -> None:
    assert anneal_gold_weight(step, 100) == expected
    config = TrainConfig(output_dir="x", steps=100, distill=DistillConfig(anneal=True))
    assert gold_weight(config, step) == expected


def test_annealed_loss_is_cross_entropy_against_the_mixed_target() -> None:
    student = torch.tensor([[0.3, -1.0, 2.0], [1.0, 0.0, -0.5]])
    teacher = torch.tensor([[1.0, 0.5, 0.0], [0.0, 2.0, 1.0]])
    gold = torch.tensor([2, 0])
    p = teacher.softmax(-1)
    teacher_entropy = -(p * p.log()).sum(-1).mean()
    for lam in (0.0, 0.5, 1.0):
        target = lam * torch.nn.functional.one_hot(gold, 3).float() + (1 - lam) * p
        expected = cross_entropy(student, target)
        loss = mix_gold(cross_entropy(student, gold), soft_kl(student, teacher), lam)
        # KL = CE(teacher) − H(teacher): the same objective up to a constant.
        assert (loss + (1 - lam) * teacher_entropy).item() == pytest.approx(expected.item(), 1e-6)
    fixed = TrainConfig(output_dir="x", steps=100, distill=DistillConfig(gold_weight=0.3))
    assert gold_weight(fixed, 0) == gold_weight(fixed, 99) == 0.3
    assert gold_weight(TrainConfig(output_dir="x", steps=1), 0) == 1.0  # no distillation


@pytest.mark.parametrize(
    ("correct", "expected"),
    [
        ([True, True, True], [1.0, 1.0, 1.0]),
        ([True, False, True], [1.125, 0.75, 1.125]),  # (3 − 0.75)/2
        ([False, True, False], [0.75, 1.5, 0.75]),  # (3 − 1.5)/1
        ([False, False, False], [1.0, 1.0, 1.0]),  # no correct teacher: plain average
    ],
)
def test_weighted_kd_weights(correct: list[bool], expected: list[float]) -> None:
    weights = teacher_weights(torch.tensor(correct).unsqueeze(1), 0.75)
    assert weights.squeeze(1).tolist() == pytest.approx(expected)
    assert weights.sum().item() == pytest.approx(3.0)


def test_weighted_combination_of_logits() -> None:
    # Three teachers, one example, gold class 0; teacher 1 predicts class 1 (wrong).
    logits = torch.tensor([[[2.0, 0.0, 1.0]], [[0.0, 3.0, 1.0]], [[1.0, 0.0, 0.0]]])
    gold = torch.tensor([0])
    weighted = combine_teachers(logits, gold, "weighted", 0.75)
    expected = (1.125 * logits[0] + 0.75 * logits[1] + 1.125 * logits[2]) / 3
    assert torch.allclose(weighted, expected)
    assert torch.allclose(combine_teachers(logits, gold, "average"), logits.mean(0))
    with pytest.raises(ValueError, match="unknown teacher combination"):
        combine_teachers(logits, gold, "vote")


def test_span_weights_judge_start_and_end_separately() -> None:
    # Teacher 0 is right on the start and wrong on the end; teacher 1 the other way round.
    start = torch.tensor([[[0.0, 5.0, 0.0]], [[0.0, 0.0, 5.0]]])
    end = torch.tensor([[[0.0, 0.0, 5.0]], [[5.0, 0.0, 0.0]]])
    gold = torch.tensor([[1, 0]])
    s, e = combine_span_teachers(start, end, gold, "weighted", 0.75, None)
    # M=2, one wrong: the right one gets (2 − 0.75)/1 = 1.25, the wrong one 0.75.
    assert torch.allclose(s, (1.25 * start[0] + 0.75 * start[1]) / 2)
    assert torch.allclose(e, (0.75 * end[0] + 1.25 * end[1]) / 2)


def test_span_kd_includes_the_null_position_and_skips_padding() -> None:
    mask = torch.tensor([[1, 1, 1, 0]])
    # The teacher says "no answer": most start/end mass on position 0 ([CLS]).
    t_start = torch.tensor([[2.0, 0.0, 0.0, 50.0]])  # the padded 50 must not count
    t_end = torch.tensor([[1.0, 1.0, 0.0, -7.0]])
    s_start = torch.tensor([[0.0, 1.0, 0.0, 9.0]])
    s_end = torch.tensor([[0.0, 0.0, 0.0, 3.0]])
    expected_start = kl(softmax([2.0, 0.0, 0.0]), softmax([0.0, 1.0, 0.0]))
    expected_end = kl(softmax([1.0, 1.0, 0.0]), softmax([0.0, 0.0, 0.0]))
    loss = span_kd((s_start, s_end), (t_start, t_end), mask, 1.0)
    assert loss.item() == pytest.approx((expected_start + expected_end) / 2, rel=1e-5)
    assert torch.isfinite(loss)
    gold = torch.tensor([[0, 0]])  # the null answer
    ce = span_cross_entropy(s_start, s_end, gold, mask)
    expected_ce = -(math.log(softmax([0.0, 1.0, 0.0])[0]) + math.log(1 / 3)) / 2
    assert ce.item() == pytest.approx(expected_ce, rel=1e-5)


def test_span_kd_gradient_is_finite_with_padding() -> None:
    mask = torch.tensor([[1, 1, 0]])
    student = torch.zeros(1, 3, requires_grad=True)
    loss = span_kd((student, student), (torch.randn(1, 3), torch.randn(1, 3)), mask, 2.0)
    loss.backward()
    assert student.grad is not None and torch.isfinite(student.grad).all()
    assert student.grad[0, 2] == 0.0
