"""Parity: the exported graph against PyTorch, output by output, on real padded dev batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from road.core.classification import TextEncoder
from road.core.data import read_classification, read_squad
from road.core.errors import ParityError
from road.core.evaluation import Runner
from road.core.qa import QAEncoder
from road.core.rows import Row, pad_rows
from road.core.tasks import TaskKind
from road.training.config import TaskConfig, TrainConfig


def task_rows(task: TaskConfig, tokenizer_dir: Path, count: int) -> list[Row]:
    """The first `count` dev rows of a task, encoded as in evaluation.

    Span extraction: the first windows (too-long questions skipped); classification: the
    first inputs, truncated.
    """
    if TaskKind(task.kind) is TaskKind.SPAN_EXTRACTION:
        encoder = QAEncoder.from_window(tokenizer_dir, task.window)
        examples = read_squad(task.dev)[:count]
        lengths = encoder.question_lengths([e.question for e in examples])
        examples = [
            e for e, n in zip(examples, lengths, strict=True) if n <= task.max_question_tokens
        ]
        windows = encoder.encode([e.question for e in examples], [e.context for e in examples])
        return [w for per_example in windows for w in per_example][:count]
    text = TextEncoder.from_file(tokenizer_dir, task.max_seq_len, task.fields)
    labelled = read_classification(task.dev, task.fields, task.labels)[:count]
    return text.encode_texts([e.texts for e in labelled], truncate=True)


def dev_rows(config: TrainConfig, tokenizer_dir: Path, count: int) -> dict[str, list[Row]]:
    """Every task's first `count` dev rows, by task name."""
    return {task.name: task_rows(task, tokenizer_dir, count) for task in config.task_defs}


def parity_batches(
    config: TrainConfig, tokenizer_dir: Path, batches_per_task: int = 3, batch_size: int = 8
) -> list[dict[str, np.ndarray]]:
    """Padded batches of each task's dev rows in file order, plus one single-row batch."""
    # File order mixes lengths within a batch, so most rows carry padding; the single row checks
    # that a batch of one is not special.
    batches = []
    count = batches_per_task * batch_size
    for rows in dev_rows(config, tokenizer_dir, count).values():
        batches += [pad_rows(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]
        batches += [pad_rows(rows[:1])] if rows else []
    return batches


def max_abs_diffs(
    reference: Runner, candidate: Runner, batches: Sequence[dict[str, np.ndarray]]
) -> dict[str, float]:
    """The largest absolute difference of each graph output over all batches."""
    per_batch: dict[str, list[float]] = {}
    for inputs in batches:
        expected, actual = reference(inputs), candidate(inputs)
        for name in expected:
            if name not in actual:
                raise ParityError(f"{name}: the graph has no such output")
            if actual[name].shape != expected[name].shape:
                raise ParityError(
                    f"{name}: shape {actual[name].shape}, expected {expected[name].shape}"
                )
            diff = float(np.max(np.abs(actual[name] - expected[name])))
            per_batch.setdefault(name, []).append(diff)
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
