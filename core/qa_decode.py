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
    parts = [
        _window_spans(window, starts, ends, max_answer_len, n_best)
        for window, starts, ends in zip(windows, start_logits, end_logits)
    ]
    begins, finishes, span_logits = _best_per_span(*(np.concatenate(p) for p in zip(*parts)))
    best_span_logit = float(span_logits[0]) if span_logits.size else -np.inf
    predict_null = allow_no_answer and (
        not span_logits.size or null_logit - best_span_logit > null_threshold
    )
    logits = np.concatenate([span_logits, [null_logit] if allow_no_answer else []])
    probs = _softmax(logits) if logits.size else logits
    # Only the top_k answers are built; the probabilities still normalise over every span.
    kept = min(top_k, span_logits.size)
    answers = [
        SpanAnswer(context[b:e], b, e, float(p), float(logit))
        for b, e, p, logit in zip(
            begins[:kept].tolist(), finishes[:kept].tolist(), probs[:kept], span_logits[:kept]
        )
    ]
    if allow_no_answer:
        null = SpanAnswer("", 0, 0, float(probs[-1]), null_logit)
        answers = [null, *answers] if predict_null else [*answers, null]
    return QADecoding(answers[:top_k], null_logit, best_span_logit)


Spans = tuple[np.ndarray, np.ndarray, np.ndarray]
_NO_SPANS: Spans = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))


def _window_spans(
    window: QAWindow, starts: np.ndarray, ends: np.ndarray, max_answer_len: int, n_best: int
) -> Spans:
    """Character begin/end and start + end logit of the window's candidate spans.

    Candidates pair the window's `n_best` best start and end tokens inside its context, in
    (start rank, end rank) order.
    """
    positions = np.flatnonzero(window.context_mask())
    if positions.size == 0:
        return _NO_SPANS
    top_starts = positions[np.argsort(starts[positions])[::-1][:n_best]]
    top_ends = positions[np.argsort(ends[positions])[::-1][:n_best]]
    length = top_ends[None, :] - top_starts[:, None] + 1
    s_rank, e_rank = np.nonzero((length >= 1) & (length <= max_answer_len))
    s, e = top_starts[s_rank], top_ends[e_rank]
    logits = (starts[s] + ends[e]).astype(np.float64)
    return window.offsets[s, 0], window.offsets[e, 1], logits


def _best_per_span(begins: np.ndarray, ends: np.ndarray, logits: np.ndarray) -> Spans:
    """Distinct character spans, each with its best logit over windows, best first.

    Ties keep the order in which spans were first seen (window order, then candidate order).
    """
    if not logits.size:
        return _NO_SPANS
    # One integer per (begin, end): 1-D unique is several times faster than unique over rows.
    width = int(ends.max()) + 1
    _, first, inverse = np.unique(begins * width + ends, return_index=True, return_inverse=True)
    best = np.full(first.size, -np.inf)
    np.maximum.at(best, inverse.reshape(-1), logits)
    order = np.lexsort((first, -best))
    return begins[first[order]], ends[first[order]], best[order]


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()
