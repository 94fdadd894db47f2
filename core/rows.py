"""Encoder rows and their padding: the unit that training, export and the batcher share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from road.core.tasks import TOKEN_OUTPUTS


@dataclass(frozen=True, slots=True)
class Row:
    """One encoder input row (a QA window or an NLI pair), unpadded."""

    input_ids: np.ndarray
    token_type_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


def padded_length(longest: int, multiple_of: int = 1) -> int:
    """The length a batch whose longest row is `longest` is padded to."""
    return -(-longest // multiple_of) * multiple_of


def pad_rows(
    rows: Sequence[Row], pad_id: int = 0, multiple_of: int = 1, width: int | None = None
) -> dict[str, np.ndarray]:
    """Pad rows to the batch's longest row (or `width`); returns the graph's three int64 inputs."""
    longest = max(len(row) for row in rows)
    width = padded_length(longest, multiple_of) if width is None else max(width, longest)
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    token_type_ids = np.zeros((len(rows), width), dtype=np.int64)
    attention_mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        n = len(row)
        input_ids[i, :n] = row.input_ids
        token_type_ids[i, :n] = row.token_type_ids
        attention_mask[i, :n] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }


def row_outputs(outputs: dict[str, np.ndarray], j: int, length: int) -> dict[str, np.ndarray]:
    """Row j's slice of every batch output: per-token outputs cut back to the row's length."""
    return {
        name: value[j, :length] if name in TOKEN_OUTPUTS else value[j]
        for name, value in outputs.items()
    }


def take_rows(
    inputs: dict[str, np.ndarray], keep: Sequence[int], width: int
) -> dict[str, np.ndarray]:
    """Some rows of a padded batch, cut to a narrower padded width."""
    return {name: np.ascontiguousarray(value[list(keep), :width]) for name, value in inputs.items()}
