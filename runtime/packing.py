"""Packing rows into batches by length: pure and synchronous, shared by the server and batch jobs.

Rows are sorted by length and cut greedily, so each batch holds rows of similar length and is
padded only to its own longest row. A batch's cost counts that padding: rows × padded width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from road.core.rows import padded_width

if TYPE_CHECKING:
    from road.runtime.settings import BatchSettings

__all__ = ["batch_cost", "padded_width", "plan_batches", "plan_for"]


def plan_batches(
    lengths: Sequence[int],
    max_batch_size: int,
    max_batch_tokens: int,
    pad_multiple: int = 1,
    buckets: Sequence[int] = (),
) -> list[list[int]]:
    """Group row indices into batches, packed in length order.

    Each batch stays within `max_batch_size` rows and `max_batch_tokens` padded tokens (rows ×
    its own padded width); a row too long for the token budget on its own still gets a batch.
    Batches come out shortest first; indices inside a batch are in length order.
    """
    if max_batch_size < 1 or max_batch_tokens < 1 or pad_multiple < 1:
        raise ValueError("max_batch_size, max_batch_tokens and pad_multiple must be positive")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        # Sorted ascending, so the newcomer is the batch's longest row.
        width = padded_width(lengths[index], pad_multiple, buckets)
        if current and (
            len(current) >= max_batch_size or width * (len(current) + 1) > max_batch_tokens
        ):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def batch_cost(
    lengths: Sequence[int], pad_multiple: int = 1, buckets: Sequence[int] = ()
) -> tuple[int, int]:
    """(padded tokens, real tokens) of one batch of rows with these lengths."""
    if not lengths:
        return 0, 0
    width = padded_width(max(lengths), pad_multiple, buckets)
    return width * len(lengths), sum(lengths)


def plan_for(lengths: Sequence[int], knobs: BatchSettings) -> list[list[int]]:
    """`plan_batches` with the server's batching knobs."""
    return plan_batches(
        lengths, knobs.max_batch_size, knobs.max_batch_tokens, knobs.pad_multiple, knobs.pad_buckets
    )
