"""The default NLI task's encoder and labels: the classification kind with NLI's fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from road.core.classification import TextEncoder, predicted_label
from road.core.classification import label_probabilities as _label_probabilities
from road.core.tasks import NLI
from road.core.tokenizer import load_tokenizer

__all__ = ["NLIEncoder", "label_probabilities", "predicted_label"]


@dataclass(frozen=True)
class NLIEncoder(TextEncoder):
    """Premise/hypothesis pairs as `[CLS] premise [SEP] hypothesis [SEP]`."""

    fields: tuple[str, ...] = NLI.fields

    @classmethod
    def from_file(  # type: ignore[override]
        cls, path: str | Path, max_seq_len: int, fields: Sequence[str] = NLI.fields
    ) -> NLIEncoder:
        return cls(load_tokenizer(path), max_seq_len, tuple(fields))


def label_probabilities(
    logits: np.ndarray, labels: Sequence[str] = NLI.labels
) -> list[dict[str, float]]:
    """Softmax over NLI logits `[n, 3]`, keyed by label name."""
    return _label_probabilities(logits, labels)
