"""NLI pre- and post-processing: premise/hypothesis pairs in, label probabilities out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from road.core.errors import InputTooLong
from road.core.rows import Row
from road.core.tasks import NLI
from road.core.tokenizer import load_tokenizer


@dataclass(frozen=True)
class NLIEncoder:
    """Encodes pairs as `[CLS] premise [SEP] hypothesis [SEP]` within `max_seq_len` tokens.

    Training truncates over-long pairs (longest first); serving refuses them instead, since a
    silently shortened premise can flip the label.
    """

    tokenizer: Tokenizer
    max_seq_len: int

    @classmethod
    def from_file(cls, path: str | Path, max_seq_len: int) -> NLIEncoder:
        return cls(load_tokenizer(path), max_seq_len)

    def encode(
        self, premises: Sequence[str], hypotheses: Sequence[str], truncate: bool = False
    ) -> list[Row]:
        encodings = self.tokenizer.encode_batch(list(zip(premises, hypotheses)))
        rows = []
        for encoding in encodings:
            ids = np.asarray(encoding.ids, dtype=np.int64)
            types = np.asarray(encoding.type_ids, dtype=np.int64)
            if len(ids) > self.max_seq_len:
                if not truncate:
                    raise InputTooLong("premise+hypothesis", self.max_seq_len, len(ids))
                ids, types = _truncate(ids, types, self.max_seq_len)
            rows.append(Row(ids, types))
        return rows


def _truncate(ids: np.ndarray, types: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Longest-first truncation that keeps the three special tokens."""
    first = ids[1 : int(np.argmax(types == 1)) - 1]
    second = ids[int(np.argmax(types == 1)) : -1]
    budget = max_len - 3
    while len(first) + len(second) > budget:
        if len(first) >= len(second):
            first = first[:-1]
        else:
            second = second[:-1]
    cls, sep = ids[0], ids[-1]
    new_ids = np.concatenate([[cls], first, [sep], second, [sep]]).astype(np.int64)
    new_types = np.concatenate([np.zeros(len(first) + 2), np.ones(len(second) + 1)]).astype(
        np.int64
    )
    return new_ids, new_types


def label_probabilities(logits: np.ndarray) -> list[dict[str, float]]:
    """Softmax over NLI logits `[n, 3]`, keyed by label name."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = z / z.sum(axis=-1, keepdims=True)
    return [dict(zip(NLI.labels, map(float, row))) for row in probs]


def predicted_label(scores: dict[str, float]) -> str:
    return max(scores, key=scores.__getitem__)
