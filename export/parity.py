"""Parity: the exported graph against PyTorch, output by output, on real padded dev batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from road.core.data import read_nli, read_squad
from road.core.errors import ParityError
from road.core.evaluation import Runner
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder
from road.core.rows import Row, pad_rows
from road.core.tasks import GRAPH_OUTPUTS
from road.training.config import TrainConfig


def qa_rows(config: TrainConfig, tokenizer_dir: Path, count: int) -> list[Row]:
    """The first `count` QA dev windows; too-long questions are skipped, as in evaluation."""
    if config.qa is None:
        return []
    qa = config.qa
    encoder = QAEncoder.from_file(
        tokenizer_dir, qa.max_seq_len, qa.doc_stride, qa.max_question_tokens
    )
    examples = read_squad(qa.dev)[:count]
    lengths = encoder.question_lengths([e.question for e in examples])
    examples = [e for e, n in zip(examples, lengths, strict=True) if n <= qa.max_question_tokens]
    windows = encoder.encode([e.question for e in examples], [e.context for e in examples])
    return [w for per_example in windows for w in per_example][:count]


def nli_rows(config: TrainConfig, tokenizer_dir: Path, count: int) -> list[Row]:
    """The first `count` NLI dev pairs, truncated as in evaluation."""
    if config.nli is None:
        return []
    encoder = NLIEncoder.from_file(tokenizer_dir, config.nli.max_seq_len)
    examples = read_nli(config.nli.dev)[:count]
    return encoder.encode(
        [e.premise for e in examples], [e.hypothesis for e in examples], truncate=True
    )


def parity_batches(
    config: TrainConfig, tokenizer_dir: Path, batches_per_task: int = 3, batch_size: int = 8
) -> list[dict[str, np.ndarray]]:
    """Padded batches of each task's dev rows in file order, plus one single-row batch."""
    # File order mixes lengths within a batch, so most rows carry padding; the single row checks
    # that a batch of one is not special.
    batches = []
    count = batches_per_task * batch_size
    for rows in (qa_rows(config, tokenizer_dir, count), nli_rows(config, tokenizer_dir, count)):
        batches += [pad_rows(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]
        batches += [pad_rows(rows[:1])] if rows else []
    return batches


def max_abs_diffs(
    reference: Runner, candidate: Runner, batches: Sequence[dict[str, np.ndarray]]
) -> dict[str, float]:
    """The largest absolute difference of each graph output over all batches."""
    per_batch: dict[str, list[float]] = {name: [] for name in GRAPH_OUTPUTS}
    for inputs in batches:
        expected, actual = reference(inputs), candidate(inputs)
        for name in GRAPH_OUTPUTS:
            if actual[name].shape != expected[name].shape:
                raise ParityError(
                    f"{name}: shape {actual[name].shape}, expected {expected[name].shape}"
                )
            per_batch[name].append(float(np.max(np.abs(actual[name] - expected[name]))))
    # np.max, unlike the builtin, keeps a NaN from any batch.
    return {name: float(np.max(values)) for name, values in per_batch.items()}


def check_parity(
    reference: Runner, candidate: Runner, batches: Sequence[dict[str, np.ndarray]], atol: float
) -> dict[str, float]:
    """Return the per-output max abs diffs, or raise `ParityError` when any exceeds `atol`."""
    if not batches:
        raise ParityError("no dev rows to compare the graph on")
    diffs = max_abs_diffs(reference, candidate, batches)
    # NaN compares false against atol, so test "not within" rather than "above".
    if not all(diff <= atol for diff in diffs.values()):
        detail = ", ".join(f"{name} {diff:.3g}" for name, diff in diffs.items())
        raise ParityError(f"graph differs from PyTorch beyond atol {atol:g}: max abs diff {detail}")
    return diffs
