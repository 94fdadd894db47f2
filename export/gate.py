"""The quality gate: the exported graph's dev metrics against the PyTorch checkpoint's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from road.core.tasks import DEFAULT_TASKS, gated_metrics
from road.export.errors import QualityGateError

Gated = Sequence[tuple[str, str]]
"""(task, metric) pairs that must not drop by more than the budget, in points (0-100 scale);
each task's kind names its metrics (`road.core.tasks.GATED_METRICS`)."""


def metric_drops(
    reference: dict[str, Any], candidate: dict[str, Any], gated: Gated | None = None
) -> dict[str, float]:
    """Points lost by `candidate` on each gated metric that both sides report."""
    pairs = gated_metrics(DEFAULT_TASKS.values()) if gated is None else gated
    return {
        f"{task}.{metric}": float(reference[task][metric]) - float(candidate[task][metric])
        for task, metric in pairs
        if metric in reference.get(task, {}) and metric in candidate.get(task, {})
    }


def check_quality(
    reference: dict[str, Any],
    candidate: dict[str, Any],
    budget: float,
    gated: Gated | None = None,
) -> dict[str, float]:
    """Return the drops, or raise `QualityGateError` when any exceeds `budget` points.

    `gated` defaults to the default tasks' metrics."""
    drops = metric_drops(reference, candidate, gated)
    # "Not within budget" rather than "above it", so that a NaN metric fails too.
    if not all(drop <= budget for drop in drops.values()):
        raise QualityGateError(drops, budget)
    return drops
