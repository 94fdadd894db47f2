"""The ablation's teachers in the summary: committed checkpoints, scored once on the full dev files.

A teacher's own `dev_metrics.json` is reused when it was computed on the same dev examples as
the ablation's (same dev file, windows and no-answer shares) and holds every number the summary
needs; otherwise the teacher is scored here with the ablation's dev settings.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from bench.ablation.runs import RUNS, run_config, teacher_name, teacher_tasks
from bench.ablation.summary import machine, scores, stamp, weights_sha256
from road.core.tasks import TaskKind
from road.training.config import TaskConfig, TrainConfig, load_config

# What decides which dev examples a task is scored on, per kind (training/evaluate.py).
DEV_SETTINGS = {
    TaskKind.SPAN_EXTRACTION: (
        "dev", "max_seq_len", "doc_stride", "max_question_tokens", "max_answer_len",
        "negative_fraction", "same_article_fraction", "dev_limit",
    ),
    TaskKind.CLASSIFICATION: ("dev", "max_seq_len", "fields", "labels", "dev_limit"),
}  # fmt: skip
NEEDED = {
    TaskKind.SPAN_EXTRACTION: (
        "HasAns_f1",
        "HasAns_exact",
        "NoAns_exact",
        "NoAns_same_article_acc",
    ),
    TaskKind.CLASSIFICATION: ("accuracy", "per_class_recall"),
}


def dev_settings(task: TaskConfig) -> dict[str, Any]:
    return {key: getattr(task, key) for key in DEV_SETTINGS[TaskKind(task.kind)]}


def eval_config(tasks: list[str], overrides: list[str]) -> TrainConfig:
    """The ablation's dev settings (run (1)'s config, `overrides` applied) for these tasks."""
    base = run_config(RUNS[0], overrides=overrides)
    kept = tuple(task for task in base.task_defs if task.name in tasks)
    return dataclasses.replace(base, layers=None, task_defs=kept, distill=None, smart=None)


def committed_metrics(checkpoint: Path, config: TrainConfig) -> dict[str, Any] | None:
    """The checkpoint's own dev metrics, if they are on the ablation's dev examples and complete."""
    metrics_file, train_file = checkpoint / "dev_metrics.json", checkpoint / "train_config.yaml"
    if not (metrics_file.is_file() and train_file.is_file()):
        return None
    own = load_config(train_file).tasks()
    metrics = json.loads(metrics_file.read_text())
    for task in config.task_defs:
        same = task.name in own and dev_settings(own[task.name]) == dev_settings(task)
        held = metrics.get(task.name, {})
        if not same or any(key not in held for key in NEEDED[TaskKind(task.kind)]):
            return None
    return metrics


def score(checkpoint: Path, config: TrainConfig) -> dict[str, Any]:
    import torch

    from road.training.evaluate import evaluate
    from road.training.model import RoadStudent

    model = RoadStudent.from_pretrained(checkpoint)
    if torch.cuda.is_available():
        model = model.to("cuda")
    return evaluate(model, config, checkpoint)


def teacher_step(checkpoint: Path, metrics: dict[str, Any]) -> int | None:
    compact = checkpoint / "compact.json"
    if compact.is_file():
        return int(json.loads(compact.read_text())["step"])
    steps = metrics.get("train_steps")
    return None if steps is None else int(steps)


def teacher_entry(source: str, tasks: list[str], overrides: list[str]) -> dict[str, Any]:
    """A teacher's summary entry; scored here unless its committed metrics serve."""
    checkpoint = Path(source)
    config = eval_config(tasks, overrides)
    metrics = committed_metrics(checkpoint, config)
    origin = f"{checkpoint}/dev_metrics.json (committed)"
    if metrics is None:
        metrics = score(checkpoint, config)
        origin = "scored by the runner"
    own = (
        load_config(checkpoint / "train_config.yaml")
        if (checkpoint / "train_config.yaml").is_file()
        else None
    )
    return {
        "name": teacher_name(source),
        "layers": json.loads((checkpoint / "config.json").read_text())["num_hidden_layers"],
        "method": f"teacher ({' + '.join(tasks)})",
        "kd": False,
        "seed": own.seed if own is not None else None,
        **scores({task: metrics[task] for task in tasks if task in metrics}),
        "steps": teacher_step(checkpoint, metrics),
        "wall_s": None,  # trained before the ablation (docs/models.md#teachers)
        "checkpoint": str(checkpoint),
        "weights_sha256": weights_sha256(checkpoint),
        "teaches": tasks,
        "metrics_from": origin,
        "machine": machine(),
        "finished": stamp(),
    }


def teachers_to_score(existing: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Teachers present here whose entry is missing or was made from other weights."""
    have = {(e["name"], e.get("weights_sha256"), tuple(e.get("teaches", ()))) for e in existing}
    todo = []
    for source, tasks in teacher_tasks().items():
        if not (Path(source) / "model.safetensors").is_file():
            continue
        key = (teacher_name(source), weights_sha256(Path(source)), tuple(tasks))
        if key not in have:
            todo.append((source, tasks))
    return todo
