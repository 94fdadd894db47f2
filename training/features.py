"""Training features: labelled encoder rows per task, and a deterministic batch stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from road.core.data import NLIExample, QAExample, read_nli, read_squad
from road.core.evaluation import with_negatives
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder, answer_token_span
from road.core.rows import Row, pad_rows
from road.core.tasks import NLI
from road.training.config import TrainConfig

T = TypeVar("T")


@dataclass(frozen=True)
class TaskFeatures:
    """Rows of one task with their targets: (start, end) for QA, a label index for NLI."""

    name: str
    rows: list[Row]
    targets: np.ndarray
    # A stable id per row (`<example id>#<window>` for QA), the key of cached teacher logits.
    ids: list[str] = field(default_factory=list)

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
) -> TaskFeatures:
    """Every window of every pair; windows without the gold answer point at CLS (no answer)."""
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
    return TaskFeatures("qa", rows, np.asarray(targets, dtype=np.int64), ids)


def nli_features(examples: Sequence[NLIExample], encoder: NLIEncoder) -> TaskFeatures:
    rows = encoder.encode(
        [e.premise for e in examples], [e.hypothesis for e in examples], truncate=True
    )
    targets = np.asarray([NLI.labels.index(e.label) for e in examples], dtype=np.int64)
    return TaskFeatures("nli", rows, targets, [e.id for e in examples])


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


def build_features(config: TrainConfig, tokenizer_dir: Path) -> dict[str, TaskFeatures]:
    features = {}
    if config.qa is not None:
        qa = config.qa
        encoder = QAEncoder.from_file(
            tokenizer_dir, qa.max_seq_len, qa.doc_stride, qa.max_question_tokens
        )
        examples = spread(read_squad(qa.train), qa.train_limit)
        features["qa"] = qa_features(
            examples, encoder, qa.negative_fraction, config.seed, qa.same_article_fraction
        )
    if config.nli is not None:
        encoder_nli = NLIEncoder.from_file(tokenizer_dir, config.nli.max_seq_len)
        examples_nli = spread(read_nli(config.nli.train), config.nli.train_limit)
        features["nli"] = nli_features(examples_nli, encoder_nli)
    return features
