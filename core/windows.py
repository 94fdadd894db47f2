"""The classification kind's long-input windows: a long first text cut into overlapping windows.

A text pair whose tokens exceed the task's `max_seq_len` is cut on its first text (the premise)
into windows that prefer sentence boundaries; each window is paired with the whole second text
(the hypothesis), and the windows' logits are aggregated into one verdict (`aggregate`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from road.core.errors import InputTooLong
from road.core.rows import Row

# Fewest first-text tokens a window may hold: a second text leaving less is refused.
MIN_WINDOW_TOKENS = 8
# The label a window gives when it holds no evidence either way (when the task has it).
NEUTRAL = "neutral"
_SENTENCE_END = re.compile(r"[.!?;:]+[\"')\]]*\s+|\n\s*")


@dataclass(frozen=True, slots=True)
class TextWindow(Row):
    """One window of a pair: `[CLS] first[start:end] [SEP] second [SEP]` as encoder rows."""

    start: int
    end: int


@dataclass(frozen=True)
class Verdict:
    """The aggregated answer: the deciding window's index, its label and its probabilities."""

    window: int
    label: str
    scores: dict[str, float]


def sentence_starts(text: str) -> list[int]:
    """Character offsets where a sentence of `text` starts (0 first)."""
    return [0, *(m.end() for m in _SENTENCE_END.finditer(text) if m.end() < len(text))]


def window_spans(boundaries: Sequence[int], n_tokens: int, budget: int) -> list[tuple[int, int]]:
    """Token spans `[a, b)` covering `n_tokens`, each at most `budget` long, overlapping.

    A window ends at the last sentence boundary that fits and reaches past the previous window
    (else at the budget), so a sentence no longer than `budget` lies whole inside a window.
    The next window starts at the window's last sentence when that sentence is at most half a
    window (else a quarter window back), so consecutive windows share context.
    """
    cuts = sorted({b for b in boundaries if 0 < b < n_tokens} | {n_tokens})
    spans: list[tuple[int, int]] = []
    start = end = 0
    while True:
        # A boundary that fits but adds nothing past the last window (a sentence longer than a
        # window follows) is passed over: the window is cut inside that sentence instead.
        fits = [c for c in cuts if max(start, end) < c <= start + budget]
        end = fits[-1] if fits else start + budget
        spans.append((start, end))
        if end >= n_tokens:
            return spans
        last = [c for c in cuts if start < c < end and c >= end - budget // 2]
        start = last[-1] if last else max(start + 1, end - budget // 4)


@dataclass(frozen=True)
class PairWindower:
    """Windows a (first, second) text pair into rows of at most `max_seq_len` tokens."""

    tokenizer: Tokenizer
    max_seq_len: int
    fields: tuple[str, str]

    def windows(self, first: str, second: str, max_windows: int) -> list[TextWindow]:
        """All windows of the pair; `InputTooLong` when the second text leaves no room or
        when there would be more than `max_windows`."""
        a = self.tokenizer.encode(first, add_special_tokens=False)
        b = self.tokenizer.encode(second, add_special_tokens=False)
        room = self.max_seq_len - 3 - len(b.ids)
        if room < MIN_WINDOW_TOKENS:
            limit = self.max_seq_len - 3 - MIN_WINDOW_TOKENS
            raise InputTooLong(self.fields[1], limit, len(b.ids))
        offsets = [start for start, _ in a.offsets]
        starts = set(sentence_starts(first))
        boundaries = [i for i, offset in enumerate(offsets) if offset in starts]
        spans = window_spans(boundaries, len(a.ids), room)
        if len(spans) > max_windows:
            raise InputTooLong("+".join(self.fields), max_windows, len(spans), unit="windows")
        cls, sep = self._specials()
        return [self._row(a.ids[s:e], b.ids, a.offsets, s, e, cls, sep) for s, e in spans]

    def _specials(self) -> tuple[int, int]:
        ids = self.tokenizer.encode("", "").ids
        return ids[0], ids[-1]

    @staticmethod
    def _row(
        first: Sequence[int],
        second: Sequence[int],
        offsets: Sequence[tuple[int, int]],
        s: int,
        e: int,
        cls: int,
        sep: int,
    ) -> TextWindow:
        ids = np.asarray([cls, *first, sep, *second, sep], dtype=np.int64)
        types = np.zeros(len(ids), dtype=np.int64)
        types[len(first) + 2 :] = 1
        return TextWindow(ids, types, start=offsets[s][0], end=offsets[e - 1][1])


def aggregate(logits: np.ndarray, labels: Sequence[str]) -> Verdict:
    """One verdict from the logits `[windows, labels]` of one pair's windows.

    A window votes for its most probable label. Among windows voting for a label other than
    `neutral` (entailment, contradiction), the most probable such vote decides: evidence either
    way beats a window that holds none. If every window votes neutral (or there is one window),
    the most probable vote decides. Ties go to the earlier window.
    """
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = z / z.sum(axis=-1, keepdims=True)
    votes = probs.argmax(axis=-1)
    strength = probs.max(axis=-1)
    decisive = np.asarray([labels[v] != NEUTRAL for v in votes])
    pool = np.flatnonzero(decisive) if decisive.any() else np.arange(len(votes))
    window = int(pool[np.argmax(strength[pool])])
    scores = dict(zip(labels, map(float, probs[window])))
    return Verdict(window, labels[int(votes[window])], scores)
