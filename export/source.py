"""The checkpoint being exported: its student, training config and PyTorch dev metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from road.core.tokenizer import TOKENIZER_FILE
from road.export.errors import ExportError
from road.training.checkpoint import CONFIG_FILE, METRICS_FILE
from road.training.config import TrainConfig, load_config
from road.training.evaluate import evaluate
from road.training.model import RoadStudent

SAVED = METRICS_FILE
EVALUATED = "evaluated"


@dataclass(frozen=True)
class Checkpoint:
    """A training checkpoint directory, opened for export."""

    path: Path
    model: RoadStudent
    config: TrainConfig


def open_checkpoint(path: Path) -> Checkpoint:
    """Load the student (in eval mode) and its training config; refuse what export cannot serve."""
    for name in (CONFIG_FILE, TOKENIZER_FILE):
        if not (path / name).is_file():
            raise ExportError(f"{path}: {name} is missing; is this a `road train` checkpoint?")
    config = load_config(path / CONFIG_FILE)
    if not config.tasks():
        raise ExportError(f"{path}: the training config names no task")
    model = RoadStudent.from_pretrained(path).eval()
    for task in config.task_defs:
        head = model.tasks.get(task.name)
        if head is None:
            raise ExportError(f"{path}: the student has no head for task {task.name}")
        if (head.outputs, head.labels) != (task.outputs, task.labels):
            raise ExportError(
                f"{path}: the {task.name} head's outputs {head.outputs} and labels "
                f"{head.labels} differ from the training config's {task.outputs}, {task.labels}"
            )
    return Checkpoint(path=path, model=model, config=config)


def pytorch_metrics(checkpoint: Checkpoint, dev_limit: int | None) -> tuple[dict[str, Any], str]:
    """The checkpoint's dev metrics (PyTorch) and where they came from."""
    # dev_metrics.json covers the configured dev sets, so it only stands in for a fresh
    # evaluation when no `dev_limit` asks for a subset.
    saved = checkpoint.path / METRICS_FILE
    tasks = checkpoint.config.tasks()
    metrics = json.loads(saved.read_text()) if dev_limit is None and saved.is_file() else {}
    if all(task in metrics for task in tasks):
        return {task: metrics[task] for task in tasks}, SAVED
    return evaluate(
        checkpoint.model, checkpoint.config, checkpoint.path, limit=dev_limit
    ), EVALUATED
