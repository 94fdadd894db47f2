"""The classification kind: one text or a text pair in, label probabilities out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from road.core.errors import InputTooLong
from road.core.rows import Row
from road.core.tokenizer import load_tokenizer


@dataclass(frozen=True)
class TextEncoder:
    """Encodes `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]` within `max_seq_len` tokens.

    Training truncates over-long inputs (longest first); serving refuses them instead, since a
    silently shortened premise can flip the label. `fields` name the texts in error messages.
    """

    tokenizer: Tokenizer
    max_seq_len: int
    fields: tuple[str, ...] = ("text",)

    @classmethod
    def from_file(
        cls, path: str | Path, max_seq_len: int, fields: Sequence[str] = ("text",)
    ) -> TextEncoder:
        if not 1 <= len(fields) <= 2:
            raise ValueError(f"a classification task takes one or two texts, not {list(fields)}")
        return cls(load_tokenizer(path), max_seq_len, tuple(fields))

    def encode(
        self, first: Sequence[str], second: Sequence[str] | None = None, truncate: bool = False
    ) -> list[Row]:
        """One row per input; `second` is the pair's second text (two-field tasks)."""
        inputs = list(first) if second is None else list(zip(first, second))
        rows = []
        for encoding in self.tokenizer.encode_batch(inputs):
            ids = np.asarray(encoding.ids, dtype=np.int64)
            types = np.asarray(encoding.type_ids, dtype=np.int64)
            if len(ids) > self.max_seq_len:
                if not truncate:
                    raise InputTooLong("+".join(self.fields), self.max_seq_len, len(ids))
                ids, types = _truncate(ids, types, self.max_seq_len)
            rows.append(Row(ids, types))
        return rows

    def encode_texts(self, texts: Sequence[Sequence[str]], truncate: bool = False) -> list[Row]:
        """Rows for items given as tuples of their field values, in `fields` order."""
        columns = list(zip(*texts)) if texts else [() for _ in self.fields]
        second = columns[1] if len(self.fields) == 2 else None
        return self.encode(columns[0], second, truncate)


def _truncate(ids: np.ndarray, types: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Longest-first truncation that keeps the special tokens."""
    cls, sep = ids[0], ids[-1]
    if not types.any():  # a single text: [CLS] text [SEP]
        return np.concatenate([ids[: max_len - 1], [sep]]).astype(np.int64), types[:max_len]
    first = ids[1 : int(np.argmax(types == 1)) - 1]
    second = ids[int(np.argmax(types == 1)) : -1]
    budget = max_len - 3
    while len(first) + len(second) > budget:
        if len(first) >= len(second):
            first = first[:-1]
        else:
            second = second[:-1]
    new_ids = np.concatenate([[cls], first, [sep], second, [sep]]).astype(np.int64)
    new_types = np.concatenate([np.zeros(len(first) + 2), np.ones(len(second) + 1)]).astype(
        np.int64
    )
    return new_ids, new_types


def label_probabilities(logits: np.ndarray, labels: Sequence[str]) -> list[dict[str, float]]:
    """Softmax over logits `[n, len(labels)]`, keyed by label name."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = z / z.sum(axis=-1, keepdims=True)
    return [dict(zip(labels, map(float, row))) for row in probs]


def predicted_label(scores: dict[str, float]) -> str:
    return max(scores, key=scores.__getitem__)
