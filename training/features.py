"""Training features: labelled encoder rows per task, and a deterministic batch stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from road.core.data import NLIExample, QAExample
from road.core.evaluation import with_unanswerable
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder, answer_token_span
from road.core.rows import Row, pad_rows
from road.core.tasks import NLI


@dataclass(frozen=True)
class TaskFeatures:
    """Rows of one task with their targets: (start, end) for QA, a label index for NLI."""

    name: str
    rows: list[Row]
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        inputs = pad_rows([self.rows[i] for i in indices])
        batch = {key: torch.from_numpy(value) for key, value in inputs.items()}
        batch["targets"] = torch.from_numpy(self.targets[list(indices)])
        return batch


def qa_features(
    examples: Sequence[QAExample], encoder: QAEncoder, negative_fraction: float, seed: int
) -> TaskFeatures:
    """Every window of every pair; windows without the gold answer point at CLS (no answer)."""
    examples = with_unanswerable(examples, negative_fraction, seed)
    lengths = encoder.question_lengths([ex.question for ex in examples])
    examples = [ex for ex, n in zip(examples, lengths) if n <= encoder.max_question_tokens]
    rows, targets = [], []
    per_example = encoder.encode([ex.question for ex in examples], [ex.context for ex in examples])
    for ex, windows in zip(examples, per_example):
        start = ex.answer_starts[0] if ex.answers else 0
        end = start + len(ex.answers[0]) if ex.answers else 0
        for window in windows:
            rows.append(window)
            targets.append(answer_token_span(window, start, end))
    return TaskFeatures("qa", rows, np.asarray(targets, dtype=np.int64))


def nli_features(examples: Sequence[NLIExample], encoder: NLIEncoder) -> TaskFeatures:
    rows = encoder.encode(
        [e.premise for e in examples], [e.hypothesis for e in examples], truncate=True
    )
    targets = np.asarray([NLI.labels.index(e.label) for e in examples], dtype=np.int64)
    return TaskFeatures("nli", rows, targets)


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
    ) -> None:
        self.names = sorted(sizes)
        self.sizes, self.batch_sizes, self.seed = sizes, batch_sizes, seed
        probs = np.asarray([weights[n] for n in self.names], dtype=np.float64)
        rng = np.random.default_rng(seed)
        self.schedule = rng.choice(len(self.names), size=steps, p=probs / probs.sum())
        # positions[s]: how many batches of step s's task were drawn before step s.
        self.positions = np.zeros(steps, dtype=np.int64)
        for k in range(len(self.names)):
            mask = self.schedule == k
            self.positions[mask] = np.arange(int(mask.sum()))
        self._perms: dict[tuple[str, int], np.ndarray] = {}

    def indices_at(self, step: int) -> tuple[str, list[int]]:
        name = self.names[int(self.schedule[step])]
        size, batch = self.sizes[name], self.batch_sizes[name]
        start = int(self.positions[step]) * batch
        indices = [
            int(self._perm(name, (start + k) // size)[(start + k) % size]) for k in range(batch)
        ]
        return name, indices

    def _perm(self, name: str, epoch: int) -> np.ndarray:
        key = (name, epoch)
        if key not in self._perms:
            rng = np.random.default_rng((self.seed, self.names.index(name), epoch))
            self._perms[key] = rng.permutation(self.sizes[name])
        return self._perms[key]


def task_weights(
    sizes: dict[str, int], alpha: float, explicit: dict[str, float]
) -> dict[str, float]:
    """Sampling weights ∝ |D|^alpha (alpha=1: proportional, 0: uniform), unless given."""
    if explicit:
        return {name: float(explicit[name]) for name in sizes}
    return {name: float(size) ** alpha for name, size in sizes.items()}
