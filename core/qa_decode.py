"""Span decoding: the one place that turns start/end logits into answers.

Training evaluation, the export quality gate, the server and the batch job all call
`decode_answers`, so an answer can never depend on which of them produced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from road.core.qa import QAWindow


@dataclass(frozen=True, slots=True)
class SpanAnswer:
    """An answer with end-exclusive character offsets into the context; "" is no answer."""

    text: str
    start: int
    end: int
    score: float
    logit: float


@dataclass(frozen=True, slots=True)
class QADecoding:
    """Ranked answers plus the raw null and best-span logits (for tuning the null threshold)."""

    answers: list[SpanAnswer]
    null_logit: float
    best_span_logit: float


def decode_answers(
    windows: Sequence[QAWindow],
    start_logits: Sequence[np.ndarray],
    end_logits: Sequence[np.ndarray],
    context: str,
    *,
    top_k: int = 1,
    max_answer_len: int = 30,
    null_threshold: float = 0.0,
    allow_no_answer: bool = True,
    n_best: int = 20,
) -> QADecoding:
    """Decode one context's windows.

    A span scores start + end logit; windows are compared on these raw sums, never on per-window
    probabilities. The null score is the lowest CLS sum over windows. No answer is predicted when
    the null score beats the best span by more than `null_threshold`.
    """
    null_logit = min(float(s[0] + e[0]) for s, e in zip(start_logits, end_logits))
    spans: dict[tuple[int, int], float] = {}
    for window, starts, ends in zip(windows, start_logits, end_logits):
        for begin, end, logit in _window_spans(window, starts, ends, max_answer_len, n_best):
            if logit > spans.get((begin, end), -np.inf):
                spans[(begin, end)] = logit
    ranked = sorted(spans.items(), key=lambda item: item[1], reverse=True)
    best_span_logit = ranked[0][1] if ranked else -np.inf
    predict_null = allow_no_answer and (not ranked or null_logit - best_span_logit > null_threshold)
    logits = np.asarray([logit for _, logit in ranked] + ([null_logit] if allow_no_answer else []))
    probs = _softmax(logits) if logits.size else logits
    answers = [
        SpanAnswer(context[b:e], b, e, float(p), float(logit))
        for ((b, e), logit), p in zip(ranked, probs)
    ]
    if allow_no_answer:
        null = SpanAnswer("", 0, 0, float(probs[-1]), null_logit)
        answers = [null, *answers] if predict_null else [*answers, null]
    return QADecoding(answers[:top_k], null_logit, float(best_span_logit))


def _window_spans(
    window: QAWindow, starts: np.ndarray, ends: np.ndarray, max_answer_len: int, n_best: int
) -> list[tuple[int, int, float]]:
    positions = np.flatnonzero(window.context_mask())
    if positions.size == 0:
        return []
    top_starts = positions[np.argsort(starts[positions])[::-1][:n_best]]
    top_ends = positions[np.argsort(ends[positions])[::-1][:n_best]]
    s_grid, e_grid = np.meshgrid(top_starts, top_ends, indexing="ij")
    valid = (e_grid >= s_grid) & (e_grid - s_grid + 1 <= max_answer_len)
    result = []
    for s, e in zip(s_grid[valid], e_grid[valid]):
        begin, end = int(window.offsets[s, 0]), int(window.offsets[e, 1])
        result.append((begin, end, float(starts[s] + ends[e])))
    return result


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()
