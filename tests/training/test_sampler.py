"""The length-grouped batch stream: deterministic, every row once per epoch, exact resume."""

from __future__ import annotations

import numpy as np
import pytest

from road.training.features import TaskSampler, padding_efficiency

SIZES = {"nli": 203, "qa": 97}  # neither a multiple of its batch size
BATCHES = {"nli": 8, "qa": 4}


def lengths(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.integers(5, 250, size) for name, size in SIZES.items()}


def sampler(seed: int = 7, groups: int = 10, steps: int = 400) -> TaskSampler:
    weights = {"nli": 2.0, "qa": 1.0}
    return TaskSampler(
        SIZES, BATCHES, weights, seed, steps, lengths=lengths(), group_batches=groups
    )


def stream(s: TaskSampler, name: str, steps: int) -> list[int]:
    return [i for step in range(steps) for task, rows in s.draws_at(step) if task == name
            for i in rows]  # fmt: skip


def test_same_seed_same_batches_other_seed_other_batches() -> None:
    assert [sampler().draws_at(k) for k in range(50)] == [sampler().draws_at(k) for k in range(50)]
    assert [sampler(seed=8).draws_at(k) for k in range(50)] != [
        sampler().draws_at(k) for k in range(50)
    ]


@pytest.mark.parametrize("name", sorted(SIZES))
def test_every_row_exactly_once_per_epoch(name: str) -> None:
    rows = stream(sampler(), name, 400)
    epochs = len(rows) // SIZES[name]
    assert epochs >= 3
    for epoch in range(epochs):
        chunk = rows[epoch * SIZES[name] : (epoch + 1) * SIZES[name]]
        assert sorted(chunk) == list(range(SIZES[name])), epoch


def test_resume_draws_what_the_uninterrupted_run_draws() -> None:
    whole = sampler()
    expected = [whole.draws_at(k) for k in range(400)]
    fresh = sampler()  # a resumed run computes step 250 first, with no history
    assert [fresh.draws_at(k) for k in range(250, 400)] == expected[250:]


def test_grouping_raises_padding_efficiency() -> None:
    grouped = padding_efficiency(sampler(groups=10), lengths(), 300)
    plain = padding_efficiency(sampler(groups=0), lengths(), 300)
    for name in SIZES:
        assert grouped[name] > 0.85 > 0.7 > plain[name], (grouped, plain)


def test_batches_hold_similar_lengths_but_come_shuffled() -> None:
    s, lens = sampler(), lengths()["nli"]
    batches = [rows for k in range(100) for task, rows in s.draws_at(k) if task == "nli"]
    spreads = [int(np.ptp(lens[b])) for b in batches[1:-1]]
    assert np.median(spreads) < 30  # lengths span 5..250 overall
    maxima = [int(lens[b].max()) for b in batches]
    assert maxima != sorted(maxima) and maxima != sorted(maxima, reverse=True)
