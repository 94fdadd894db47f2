"""summary.json entries, and teachers read from their committed metrics or scored once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.ablation import runs, summary, teachers
from bench.ablation.summary import REQUIRED, scores, upsert

METRICS = {
    "qa": {
        "f1": 70.0, "HasAns_f1": 61.5, "HasAns_exact": 50.25, "NoAns_exact": 90.0,
        "NoAns_same_article_acc": 85.0, "NoAns_cross_article_acc": 95.0,
    },
    "nli": {"accuracy": 66.0, "per_class_recall": {"entailment": 80.0, "neutral": 40.0}},
}  # fmt: skip


def entry(name: str, **values: Any) -> dict[str, Any]:
    base = dict.fromkeys(REQUIRED)
    return {**base, "name": name, "layers": 3, "kd": False, **values}


def test_scores_are_hasans_f1_em_noans_and_nli() -> None:
    got = scores(METRICS)
    assert (got["qa_f1"], got["qa_em"], got["noans_acc"], got["nli_acc"]) == (
        61.5,
        50.25,
        90.0,
        66.0,
    )
    assert got["noans_same_article_acc"] == 85.0 and got["nli_recall"]["neutral"] == 40.0
    only_nli = scores({"nli": {"accuracy": 50.0}})
    assert only_nli["qa_f1"] is None and only_nli["nli_acc"] == 50.0


def test_upsert_replaces_by_name_keeps_order_and_refuses_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "results" / "summary.json"
    upsert(entry("4-road-anneal-s29", qa_f1=1.0), path)
    upsert(entry("1-multitask", qa_f1=2.0), path)
    upsert(entry("teacher-nli", layers=6), path)
    upsert(entry("4-road-anneal"), path)
    entries = upsert(entry("1-multitask", qa_f1=3.0), path)
    assert [e["name"] for e in entries] == [
        "teacher-nli", "1-multitask", "4-road-anneal", "4-road-anneal-s29",
    ]  # fmt: skip
    assert json.loads(path.read_text()) == entries and entries[1]["qa_f1"] == 3.0
    with pytest.raises(ValueError, match="lacks"):
        upsert({"name": "x", "qa_f1": 1.0}, path)


def fake_teacher(root: Path, tiny_checkpoint: Path, name: str, dev: dict[str, str]) -> Path:
    """A copy of the tiny checkpoint whose train config and dev metrics are given here."""
    path = root / name
    shutil.copytree(tiny_checkpoint, path)
    own = yaml.safe_load((path / "train_config.yaml").read_text())
    ablation = runs.run_config(runs.RUNS[0]).tasks()
    for task in own["tasks"]:  # the ablation's dev settings, as a teacher trained for it has
        task.update(teachers.dev_settings(ablation[task["name"]]), dev=dev[task["name"]])
        task.update({k: list(v) for k, v in task.items() if isinstance(v, tuple)})
    (path / "train_config.yaml").write_text(yaml.safe_dump(own))
    (path / "dev_metrics.json").write_text(json.dumps(METRICS))
    return path


def test_committed_metrics_are_used_only_on_the_same_dev_examples(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    dev = {"qa": "/data/qa-dev.json.gz", "nli": "/data/nli-dev.jsonl"}
    sets = [f"qa.dev={dev['qa']}", f"nli.dev={dev['nli']}"]
    teacher = fake_teacher(tmp_path, tiny_checkpoint, "teacher-qa", dev)
    assert teachers.committed_metrics(teacher, teachers.eval_config(["qa"], sets)) == METRICS
    assert teachers.committed_metrics(teacher, teachers.eval_config(["qa", "nli"], sets))
    other = ["qa.dev=/data/other.json.gz", f"nli.dev={dev['nli']}"]
    assert teachers.committed_metrics(teacher, teachers.eval_config(["qa"], other)) is None
    fewer = ["qa.same_article_fraction=0.0", *sets]
    assert teachers.committed_metrics(teacher, teachers.eval_config(["qa"], fewer)) is None
    incomplete = {"qa": {k: v for k, v in METRICS["qa"].items() if "same_article" not in k}}
    (teacher / "dev_metrics.json").write_text(json.dumps(incomplete))
    assert teachers.committed_metrics(teacher, teachers.eval_config(["qa"], sets)) is None


def test_teacher_entries_read_committed_metrics_and_skip_absent_or_known_teachers(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = {"qa": "/data/qa-dev.json.gz", "nli": "/data/nli-dev.jsonl"}
    sets = [f"qa.dev={dev['qa']}", f"nli.dev={dev['nli']}"]
    qa = fake_teacher(tmp_path, tiny_checkpoint, "teacher-qa-stage1", dev)
    second = fake_teacher(tmp_path, tiny_checkpoint, "default-student", dev)
    absent = str(tmp_path / "teacher-nli")
    monkeypatch.setattr(
        runs, "TEACHERS", {"qa": [str(qa), str(second)], "nli": [absent, str(second)]}
    )

    def no_scoring(*_: object) -> None:
        raise AssertionError("committed metrics on the same dev examples are not rescored")

    monkeypatch.setattr(teachers, "score", no_scoring)
    todo = teachers.teachers_to_score([])
    assert todo == [(str(qa), ["qa"]), (str(second), ["qa", "nli"])]
    made = [teachers.teacher_entry(source, tasks, sets) for source, tasks in todo]
    assert [e["name"] for e in made] == ["teacher-qa-stage1", "teacher-2-default-student"]
    assert all(set(REQUIRED) <= set(e) and e["layers"] == 2 for e in made)
    assert made[0]["qa_f1"] == 61.5 and made[0]["nli_acc"] is None and made[1]["nli_acc"] == 66.0
    assert "committed" in made[0]["metrics_from"] and made[0]["machine"]["cores"]
    assert teachers.teachers_to_score(made) == []
    (second / "model.safetensors").write_bytes(b"retrained")  # new weights: a new entry
    assert teachers.teachers_to_score(made) == [(str(second), ["qa", "nli"])]
    assert summary.weights_sha256(second) != made[1]["weights_sha256"]


def test_teachers_no_longer_named_leave_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    for name in ("teacher-qa-stage1", "teacher-nli", "1-multitask"):
        upsert(entry(name), path)
    summary.keep_only_teachers({"teacher-qa", "teacher-nli"}, path)
    assert [e["name"] for e in summary.load(path)] == ["teacher-nli", "1-multitask"]
