"""The committed compact checkpoints are intact, load in fp32, and carry their dev metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from road.training.compact import read_compact
from road.training.config import load_config
from road.training.model import RoadStudent

REPO = Path(__file__).resolve().parents[2]
COMPACT = sorted(p.parent for p in (REPO / "checkpoints").glob("*/compact.json"))


def test_there_are_committed_compact_checkpoints() -> None:
    assert "teacher-nli" in {p.name for p in COMPACT}


@pytest.mark.parametrize("path", COMPACT, ids=[p.name for p in COMPACT])
def test_compact_checkpoint_is_intact_and_loads(path: Path) -> None:
    record = read_compact(path)  # sha256 of the weights
    assert record["dtype"] in ("fp16", "bf16")
    assert (path / "model.safetensors").stat().st_size < 60 * 2**20
    config = load_config(path / "train_config.yaml")
    metrics = json.loads((path / "dev_metrics.json").read_text())
    assert metrics["train_steps"] == record["step"] <= config.steps
    for task in config.tasks():
        assert metrics[task]["total"] > 1000  # the full dev files, not a subset
    model = RoadStudent.from_pretrained(path)
    assert next(model.parameters()).dtype.itemsize == 4
    assert sum(p.numel() for p in model.parameters()) == record["parameters"]


# The teachers issue's floors on the full dev files (docs/models.md#teachers).
QA_FLOOR_F1, NLI_FLOOR_ACC = 70.0, 72.0


def _dev_metrics(name: str) -> dict:
    return json.loads((REPO / "checkpoints" / name / "dev_metrics.json").read_text())


# Each teacher on its task's whole dev file: (checkpoint, task, count key, count, metric, floor).
FLOORS = [
    ("teacher-qa", "qa", "HasAns_total", 2341, "HasAns_f1", QA_FLOOR_F1),
    ("teacher-nli-qa-init", "nli", "total", 4722, "accuracy", NLI_FLOOR_ACC),
]


@pytest.mark.parametrize(("name", "task", "count_key", "count", "metric", "floor"), FLOORS)
def test_the_teacher_meets_its_floor_after_its_whole_schedule(
    name: str, task: str, count_key: str, count: int, metric: str, floor: float
) -> None:
    metrics = _dev_metrics(name)
    config = load_config(REPO / "checkpoints" / name / "train_config.yaml")
    assert metrics["train_steps"] == config.steps  # the whole schedule, not a stage
    assert metrics[task][count_key] == count  # every dev question or pair
    assert metrics[task][metric] >= floor
