"""Batch invariance: does a row's output depend on its batch mates and padding?

Dynamic INT8 quantises activations with one scale per tensor per run, so a row's logits move
with whatever else is in its batch; a server that batches requests then answers a request
differently depending on the traffic around it. Export measures this for every variant.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from road.core.evaluation import Runner
from road.core.rows import Row, pad_rows, row_outputs
from road.core.tasks import GRAPH_OUTPUTS, NLI, TOKEN_OUTPUTS

NLI_OUTPUT = NLI.outputs[0]


def alone_and_batched(
    runner: Runner, rows: Sequence[Row], batch_size: int, seed: int
) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """Each row's outputs run as a batch of one, and inside shuffled padded batches."""
    alone = [row_outputs(runner(pad_rows([row])), 0, len(row)) for row in rows]
    order = list(range(len(rows)))
    # Shuffling mixes QA windows with NLI pairs and long rows with short ones, as live traffic.
    random.Random(seed).shuffle(order)
    batched: list[dict[str, np.ndarray]] = [{} for _ in rows]
    for begin in range(0, len(order), batch_size):
        chunk = order[begin : begin + batch_size]
        outputs = runner(pad_rows([rows[i] for i in chunk]))
        for j, i in enumerate(chunk):
            batched[i] = row_outputs(outputs, j, len(rows[i]))
    return alone, batched


def batch_invariance(
    runner: Runner, qa: Sequence[Row], nli: Sequence[Row], batch_size: int = 16, seed: int = 0
) -> dict[str, Any]:
    """Largest |output difference| alone vs batched, and how many answers change.

    QA rows are judged on the span outputs and NLI rows on the NLI logits, the outputs each
    task's answer is decoded from; all rows share the mixed batches.
    """
    alone, batched = alone_and_batched(runner, [*qa, *nli], batch_size, seed)
    pairs = {
        "qa": list(zip(alone, batched))[: len(qa)],
        "nli": list(zip(alone, batched))[len(qa) :],
    }
    task_of = dict.fromkeys(TOKEN_OUTPUTS, "qa") | {NLI_OUTPUT: "nli"}
    diffs = {
        name: max(
            (float(np.max(np.abs(a[name] - b[name]))) for a, b in pairs[task_of[name]]),
            default=0.0,
        )
        for name in GRAPH_OUTPUTS
    }
    return {
        "rows": {"qa": len(qa), "nli": len(nli)},
        "batch_size": batch_size,
        "max_abs_diff": diffs,
        # A moved start or end argmax moves the QA span; a moved NLI argmax changes the label.
        "changed_spans": sum(
            int(any(np.argmax(a[n]) != np.argmax(b[n]) for n in TOKEN_OUTPUTS))
            for a, b in pairs["qa"]
        ),
        "changed_labels": sum(
            int(np.argmax(a[NLI_OUTPUT]) != np.argmax(b[NLI_OUTPUT])) for a, b in pairs["nli"]
        ),
    }
