"""The quality gate: the exported graph's dev metrics against the PyTorch checkpoint's."""

from __future__ import annotations

from typing import Any

from road.export.errors import QualityGateError

# (task, metric) pairs that must not drop by more than the budget, in points (0-100 scale).
GATED: tuple[tuple[str, str], ...] = (("qa", "f1"), ("qa", "exact"), ("nli", "accuracy"))


def metric_drops(reference: dict[str, Any], candidate: dict[str, Any]) -> dict[str, float]:
    """Points lost by `candidate` on each gated metric that both sides report."""
    return {
        f"{task}.{metric}": float(reference[task][metric]) - float(candidate[task][metric])
        for task, metric in GATED
        if metric in reference.get(task, {}) and metric in candidate.get(task, {})
    }


def check_quality(
    reference: dict[str, Any], candidate: dict[str, Any], budget: float
) -> dict[str, float]:
    """Return the drops, or raise `QualityGateError` when any exceeds `budget` points."""
    drops = metric_drops(reference, candidate)
    # "Not within budget" rather than "above it", so that a NaN metric fails too.
    if not all(drop <= budget for drop in drops.values()):
        raise QualityGateError(drops, budget)
    return drops
