"""The bundle's provenance: the source checkpoint, its recipe, its teachers and what built it."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import onnx
import onnxruntime
import torch
import transformers

import road
from road.core.tasks import TaskSpec
from road.export.source import Checkpoint
from road.training.checkpoint import METRICS_FILE
from road.training.compact import COMPACT_FILE
from road.training.config import TrainConfig, to_dict
from road.training.teachers import load_teacher


def provenance(checkpoint: Checkpoint, pytorch_metrics: dict[str, Any]) -> dict[str, Any]:
    """Where the bundle came from and what built it; a distilled student names its teachers."""
    return {
        "source_checkpoint": str(checkpoint.path.resolve()),
        "train_config": to_dict(checkpoint.config),
        "dev_metrics": pytorch_metrics,
        "teachers": teacher_provenance(checkpoint.config),
        "road_version": road.__version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    }


def teacher_provenance(config: TrainConfig) -> dict[str, list[dict[str, Any]]]:
    """Per task, each KD teacher: its source, weight fingerprint and saved dev metrics.

    The fingerprint is the one the soft-target cache keys on, so it names exactly the weights
    whose logits the student learned from. A teacher that is gone from this machine is listed
    with a null fingerprint and the reason, rather than failing the export.
    """
    if config.distill is None:
        return {}
    tasks = config.tasks()
    return {
        task: [describe_teacher(source, tasks[task].spec) for source in sources]
        for task, sources in sorted(config.distill.teachers.items())
    }


def describe_teacher(source: str, spec: TaskSpec) -> dict[str, Any]:
    try:
        teacher = load_teacher(source, spec)
    except (OSError, ValueError) as exc:
        return {"source": source, "fingerprint": None, "dev_metrics": None, "missing": str(exc)}
    return {
        "source": source,
        "fingerprint": teacher.fingerprint(),
        "dev_metrics": saved_metrics(Path(source), spec.name),
    }


def saved_metrics(path: Path, task: str) -> dict[str, Any] | None:
    """A checkpoint's dev metrics of `task`: `dev_metrics.json`, else `compact.json`'s source."""
    for name, key in ((METRICS_FILE, None), (COMPACT_FILE, "source_metrics")):
        file = path / name
        if not file.is_file():
            continue
        saved = json.loads(file.read_text())
        saved = saved.get(key, {}) if key else saved
        if task in saved:
            return dict(saved[task])
    return None
