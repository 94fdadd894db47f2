"""Calibrated label probabilities: one temperature per classification task, fitted on dev.

Export fits the temperature that minimises the dev negative log-likelihood of the exported
graph's logits and writes it into the manifest; the runtime divides a task's logits by it before
the softmax, so `scores` are probabilities whose confidence matches their accuracy (ECE).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Temperatures searched (log-uniform, then refined): sharper than 1/8 or flatter than 8 is a sign
# of a broken head, not of miscalibration.
LOG_T_RANGE = (float(np.log(1 / 8)), float(np.log(8)))
ECE_BINS = 15


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def nll(logits: np.ndarray, golds: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of the gold labels at `temperature`."""
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(scaled).sum(axis=-1))
    return float(np.mean(log_z - scaled[np.arange(len(golds)), golds]))


def fit_temperature(logits: np.ndarray, golds: np.ndarray, steps: int = 60) -> float:
    """The temperature minimising dev NLL (golden-section search on log T; NLL is convex in 1/T)."""
    if len(golds) == 0:
        return 1.0
    lo, hi = LOG_T_RANGE
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(steps):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if nll(logits, golds, float(np.exp(a))) <= nll(logits, golds, float(np.exp(b))):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def expected_calibration_error(probs: np.ndarray, golds: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: |accuracy − confidence| of the top label, averaged over equal-width bins by weight."""
    if len(golds) == 0:
        return 0.0
    confidence = probs.max(axis=-1)
    correct = probs.argmax(axis=-1) == golds
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gap = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            gap += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(gap)


def calibration_report(
    logits: np.ndarray, golds: Sequence[str], labels: Sequence[str]
) -> dict[str, float]:
    """The fitted temperature and ECE (percent) before and after it, for a dev metrics dict."""
    index = {label: i for i, label in enumerate(labels)}
    gold = np.asarray([index[g] for g in golds], dtype=np.int64)
    temperature = fit_temperature(logits, gold)
    return {
        "temperature": temperature,
        "ece": 100.0 * expected_calibration_error(softmax(logits), gold),
        "ece_calibrated": 100.0 * expected_calibration_error(softmax(logits / temperature), gold),
    }
