"""Encoder rows, their padding, and "pad, run, scatter back": what every runner of rows shares."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from road.core.tasks import TOKEN_OUTPUTS

RowOutput = dict[str, np.ndarray]
Runner = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
"""Maps padded graph inputs to the graph's named outputs."""


@dataclass(frozen=True, slots=True)
class Row:
    """One encoder input row (a QA window, a classification text or pair), unpadded."""

    input_ids: np.ndarray
    token_type_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


def padded_width(longest: int, pad_multiple: int = 1, buckets: Sequence[int] = ()) -> int:
    """The width a batch whose longest row is `longest` is padded to.

    With a bucket ladder (ascending widths) the width is the smallest bucket that fits, or
    `longest` rounded up to `pad_multiple` past the top bucket; without one it is `longest`
    rounded up to `pad_multiple`.
    """
    if buckets:
        i = bisect.bisect_left(buckets, longest)
        if i < len(buckets):
            return int(buckets[i])
    return -(-longest // pad_multiple) * pad_multiple


def pad_rows(
    rows: Sequence[Row], pad_id: int = 0, multiple_of: int = 1, width: int | None = None
) -> dict[str, np.ndarray]:
    """Pad rows to the batch's longest row (or `width`); returns the graph's three int64 inputs."""
    longest = max(len(row) for row in rows)
    width = padded_width(longest, multiple_of) if width is None else max(width, longest)
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


def row_outputs(
    outputs: dict[str, np.ndarray],
    j: int,
    length: int,
    token_outputs: Collection[str] = TOKEN_OUTPUTS,
) -> RowOutput:
    """Row j's slice of every batch output: per-token outputs cut back to the row's length."""
    return {
        name: value[j, :length] if name in token_outputs else value[j]
        for name, value in outputs.items()
    }


def run_batches(
    runner: Runner,
    rows: Sequence[Row],
    batches: Sequence[Sequence[int]],
    token_outputs: Collection[str] = TOKEN_OUTPUTS,
    width: Callable[[int], int] | None = None,
) -> list[RowOutput]:
    """Pad each batch of row indices (to `width(longest)` if given), run it, scatter back.

    Returns every row's unpadded outputs in row order; rows in no batch get `{}`.
    """
    outputs: list[RowOutput] = [{} for _ in rows]
    for batch in batches:
        longest = max(len(rows[i]) for i in batch)
        padded = pad_rows([rows[i] for i in batch], width=width(longest) if width else None)
        result = runner(padded)
        for j, i in enumerate(batch):
            outputs[i] = row_outputs(result, j, len(rows[i]), token_outputs)
    return outputs


def length_sorted_batches(rows: Sequence[Row], batch_size: int) -> list[list[int]]:
    """Row indices in length order, cut into batches of `batch_size`."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def take_rows(
    inputs: dict[str, np.ndarray], keep: Sequence[int], width: int
) -> dict[str, np.ndarray]:
    """Some rows of a padded batch, cut to a narrower padded width."""
    return {name: np.ascontiguousarray(value[list(keep), :width]) for name, value in inputs.items()}
