"""Training features: labelled encoder rows per task, and a deterministic batch stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from road.core.classification import TextEncoder
from road.core.data import ClassificationExample, QAExample, read_classification, read_squad
from road.core.negatives import with_negatives
from road.core.qa import QAEncoder, answer_token_span
from road.core.rows import Row, pad_rows
from road.core.tasks import QA, TaskKind
from road.training.config import TaskConfig, TrainConfig

T = TypeVar("T")


@dataclass(frozen=True)
class TaskFeatures:
    """Rows of one task with their targets: (start, end) for spans, a label index for classes."""

    name: str
    rows: list[Row]
    targets: np.ndarray
    # A stable id per row (`<example id>#<window>` for spans), the key of cached teacher logits.
    ids: list[str] = field(default_factory=list)
    kind: TaskKind = TaskKind.SPAN_EXTRACTION

    def __len__(self) -> int:
        return len(self.rows)

    def lengths(self) -> np.ndarray:
        return np.asarray([len(row) for row in self.rows], dtype=np.int64)

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        inputs = pad_rows([self.rows[i] for i in indices])
        batch = {key: torch.from_numpy(value) for key, value in inputs.items()}
        batch["targets"] = torch.from_numpy(self.targets[list(indices)])
        return batch


def qa_features(
    examples: Sequence[QAExample],
    encoder: QAEncoder,
    negative_fraction: float,
    seed: int,
    same_article_fraction: float = 0.0,
    name: str = QA.name,
) -> TaskFeatures:
    """Span extraction: every window of every pair; windows without the gold answer point at
    CLS (no answer)."""
    examples = with_negatives(examples, negative_fraction, same_article_fraction, seed)
    lengths = encoder.question_lengths([ex.question for ex in examples])
    examples = [ex for ex, n in zip(examples, lengths) if n <= encoder.max_question_tokens]
    rows, targets, ids = [], [], []
    per_example = encoder.encode([ex.question for ex in examples], [ex.context for ex in examples])
    for ex, windows in zip(examples, per_example):
        start = ex.answer_starts[0] if ex.answers else 0
        end = start + len(ex.answers[0]) if ex.answers else 0
        for k, window in enumerate(windows):
            rows.append(window)
            targets.append(answer_token_span(window, start, end))
            ids.append(f"{ex.id}#{k}")
    return TaskFeatures(name, rows, np.asarray(targets, dtype=np.int64), ids)


def classification_features(
    examples: Sequence[ClassificationExample],
    encoder: TextEncoder,
    labels: Sequence[str],
    name: str,
) -> TaskFeatures:
    """Classification: one (truncated) row per example, its label's index as target."""
    rows = encoder.encode_texts([e.texts for e in examples], truncate=True)
    targets = np.asarray([list(labels).index(e.label) for e in examples], dtype=np.int64)
    return TaskFeatures(name, rows, targets, [e.id for e in examples], TaskKind.CLASSIFICATION)


class TaskSampler:
    """Which task and which rows each step uses, as a pure function of (seed, step).

    Being a pure function is what makes resuming exact: step k draws the same batch whether or
    not the run was interrupted before it.
    """

    def __init__(
        self,
        sizes: dict[str, int],
        batch_sizes: dict[str, int],
        weights: dict[str, float],
        seed: int,
        steps: int,
        tasks_per_step: int = 1,
        lengths: dict[str, np.ndarray] | None = None,
        group_batches: int = 0,
    ) -> None:
        self.names = sorted(sizes)
        self.sizes, self.batch_sizes, self.seed = sizes, batch_sizes, seed
        self.tasks_per_step = tasks_per_step
        # Length grouping: rows sorted by length within pools of `group_batches` batches.
        self.lengths = lengths or {}
        self.group_batches = group_batches
        if not 1 <= tasks_per_step <= len(self.names):
            raise ValueError(f"tasks_per_step={tasks_per_step} needs 1..{len(self.names)} tasks")
        probs = np.asarray([weights[n] for n in self.names], dtype=np.float64)
        probs /= probs.sum()
        rng = np.random.default_rng(seed)
        if tasks_per_step == 1:
            self.schedule = rng.choice(len(self.names), size=steps, p=probs)
        else:  # k distinct tasks per step, drawn ∝ weights without replacement
            self.schedule = np.concatenate(
                [
                    rng.choice(len(self.names), tasks_per_step, replace=False, p=probs)
                    for _ in range(steps)
                ]
            )
        # positions[d]: how many batches of draw d's task were drawn before draw d.
        self.positions = np.zeros(len(self.schedule), dtype=np.int64)
        for k in range(len(self.names)):
            mask = self.schedule == k
            self.positions[mask] = np.arange(int(mask.sum()))
        self._perms: dict[tuple[str, int], np.ndarray] = {}

    def draws_at(self, step: int) -> list[tuple[str, list[int]]]:
        """The `tasks_per_step` (task, row indices) batches of one optimizer step."""
        first = step * self.tasks_per_step
        return [self.indices_at(d) for d in range(first, first + self.tasks_per_step)]

    def indices_at(self, draw: int) -> tuple[str, list[int]]:
        name = self.names[int(self.schedule[draw])]
        size, batch = self.sizes[name], self.batch_sizes[name]
        start = int(self.positions[draw]) * batch
        indices = [
            int(self._perm(name, (start + k) // size)[(start + k) % size]) for k in range(batch)
        ]
        return name, indices

    def _perm(self, name: str, epoch: int) -> np.ndarray:
        """Epoch `epoch`'s order of the task's rows: each row exactly once."""
        key = (name, epoch)
        if key not in self._perms:
            rng = np.random.default_rng((self.seed, self.names.index(name), epoch))
            perm = rng.permutation(self.sizes[name])
            if self.group_batches and name in self.lengths:
                perm = self._grouped(name, epoch, perm, rng)
            self._perms[key] = perm
        return self._perms[key]

    def _grouped(
        self, name: str, epoch: int, perm: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """`perm` with similar lengths in each batch, the batches in shuffled order.

        The stream runs through the epochs without gaps, so the first `head` rows finish the
        batch that began in the previous epoch; grouping starts at the next batch boundary.
        """
        size, batch = self.sizes[name], self.batch_sizes[name]
        head = (-epoch * size) % batch
        body = perm[head:]
        full = len(body) // batch * batch
        pool = batch * self.group_batches
        lengths = self.lengths[name]
        batches: list[np.ndarray] = []
        for begin in range(0, full, pool):
            chunk = body[begin : min(begin + pool, full)]
            chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
            batches.extend(chunk.reshape(-1, batch))
        order = rng.permutation(len(batches))
        grouped = [batches[i] for i in order]
        return np.concatenate([perm[:head], *grouped, body[full:]]).astype(np.int64)


def padding_efficiency(
    sampler: TaskSampler, lengths: dict[str, np.ndarray], steps: int, first: int = 0
) -> dict[str, float]:
    """Per task, real tokens ÷ padded tokens over the batches of steps first..first+steps-1."""
    real: dict[str, int] = {}
    padded: dict[str, int] = {}
    for step in range(first, first + steps):
        for name, indices in sampler.draws_at(step):
            rows = lengths[name][indices]
            real[name] = real.get(name, 0) + int(rows.sum())
            padded[name] = padded.get(name, 0) + int(rows.max()) * len(rows)
    return {name: real[name] / padded[name] for name in sorted(real)}


def task_weights(
    sizes: dict[str, int], alpha: float, explicit: dict[str, float]
) -> dict[str, float]:
    """Sampling weights ∝ |D|^alpha (alpha=1: proportional, 0: uniform), unless given."""
    if explicit:
        return {name: float(explicit[name]) for name in sizes}
    return {name: float(size) ** alpha for name, size in sizes.items()}


def spread(items: list[T], limit: int | None) -> list[T]:
    """`limit` items evenly spaced over the list (the files are grouped by domain); None: all."""
    if limit is None or limit >= len(items):
        return items
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, limit)]


def task_features(task: TaskConfig, seed: int, tokenizer_dir: Path) -> TaskFeatures:
    """One task's training features, by its kind."""
    if TaskKind(task.kind) is TaskKind.SPAN_EXTRACTION:
        encoder = QAEncoder.from_window(tokenizer_dir, task.window)
        examples = spread(read_squad(task.train), task.train_limit)
        return qa_features(
            examples, encoder, task.negative_fraction, seed, task.same_article_fraction, task.name
        )
    text = TextEncoder.from_file(tokenizer_dir, task.max_seq_len, task.fields)
    labelled = spread(read_classification(task.train, task.fields, task.labels), task.train_limit)
    return classification_features(labelled, text, task.labels, task.name)


def build_features(config: TrainConfig, tokenizer_dir: Path) -> dict[str, TaskFeatures]:
    return {task.name: task_features(task, config.seed, tokenizer_dir) for task in config.task_defs}
