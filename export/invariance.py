"""Batch invariance: does a row's output depend on its batch mates and padding?

Dynamic INT8 quantises activations with one scale per tensor per run, so a row's logits move
with whatever else is in its batch; a server that batches requests then answers a request
differently depending on the traffic around it. Export measures this for every variant.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from road.core.rows import Row, RowOutput, Runner, run_batches
from road.core.tasks import TaskKind, TaskSpec, token_outputs


def alone_and_batched(
    runner: Runner, rows: Sequence[Row], batch_size: int, seed: int, tokens: frozenset[str]
) -> tuple[list[RowOutput], list[RowOutput]]:
    """Each row's outputs run as a batch of one, and inside shuffled padded batches."""
    alone = run_batches(runner, rows, [[i] for i in range(len(rows))], tokens)
    order = list(range(len(rows)))
    # Shuffling mixes the tasks' rows and long rows with short ones, as live traffic does.
    random.Random(seed).shuffle(order)
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return alone, run_batches(runner, rows, chunks, tokens)


def batch_invariance(
    runner: Runner,
    rows: Mapping[TaskSpec, Sequence[Row]],
    batch_size: int = 16,
    seed: int = 0,
) -> dict[str, Any]:
    """Largest |output difference| alone vs batched, and how many answers change.

    Each task's rows are judged on its own outputs, the ones its answer is decoded from; all
    rows share the mixed batches.
    """
    tokens = token_outputs(rows)
    flat = [row for task_rows in rows.values() for row in task_rows]
    alone, batched = alone_and_batched(runner, flat, batch_size, seed, tokens)
    pairs: dict[str, list[tuple[RowOutput, RowOutput]]] = {}
    cursor = 0
    for spec, task_rows in rows.items():
        pairs[spec.name] = list(zip(alone, batched))[cursor : cursor + len(task_rows)]
        cursor += len(task_rows)
    diffs = {
        name: max(
            (float(np.max(np.abs(a[name] - b[name]))) for a, b in pairs[spec.name]), default=0.0
        )
        for spec in rows
        for name in spec.outputs
    }
    # A moved start or end argmax moves a span; a moved class argmax changes the label.
    changed = {
        kind: sum(
            int(any(np.argmax(a[n]) != np.argmax(b[n]) for n in spec.outputs))
            for spec in rows
            if spec.kind is kind
            for a, b in pairs[spec.name]
        )
        for kind in TaskKind
    }
    return {
        "rows": {spec.name: len(task_rows) for spec, task_rows in rows.items()},
        "batch_size": batch_size,
        "max_abs_diff": diffs,
        "changed_spans": changed[TaskKind.SPAN_EXTRACTION],
        "changed_labels": changed[TaskKind.CLASSIFICATION],
    }
