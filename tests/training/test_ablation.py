"""The ablation runner's pieces: per-run configs, the results table, curves, throughput."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from road.training import ablation
from road.training.ablation import BEGIN, END, Entry, run_config, table, targets, write_doc
from road.training.config import load_config
from road.training.curves import plot_curve, read_losses
from road.training.throughput import bundle_throughput, dev_rows


def args(**kwargs: object) -> argparse.Namespace:
    defaults = {"steps": None, "teacher_steps": None, "dev_limit": None, "train_limit": None}
    defaults["set"] = []
    return argparse.Namespace(**{**defaults, **kwargs})


def test_budgets_and_dev_limits_apply_per_run() -> None:
    a = args(steps=40, teacher_steps=60, dev_limit=50, train_limit=900, set=["threads=2"])
    teacher = run_config("teacher-nli-s29", "teacher-nli.yaml", ablation.TEACHERS[3][2], a)
    assert teacher.steps == 60 and teacher.seed == 29 and teacher.qa is None
    assert teacher.output_dir == "runs/ablation/teacher-nli-s29"
    assert teacher.nli is not None and teacher.nli.dev_limit == 50 and teacher.threads == 2
    student = run_config("6-smart", "ablation-6-smart.yaml", [], a)
    assert student.steps == 40 and student.layers == (0, 2, 4) and student.smart is not None
    assert student.qa is not None and student.qa.dev_limit == 50
    assert student.qa.train_limit == 900 and student.nli is not None
    assert student.nli.train_limit == 900 and teacher.nli.train_limit == 900
    # Every student has the same budget.
    configs = [run_config(n, f, e, args()) for n, f, e in ablation.STUDENTS]
    budgets = {
        (c.steps, c.lr, c.layers, c.qa and c.qa.batch_size, c.nli and c.nli.batch_size)
        for c in configs
    }
    assert {b[:3] for b in budgets} == {(3000, 2e-4, (0, 2, 4))}
    assert {b[3] for b in budgets} - {None} == {16} and {b[4] for b in budgets} - {None} == {32}


def entry(name: str, qa_f1: float | None, nli: float | None) -> Entry:
    metrics = {}
    if qa_f1 is not None:
        metrics["qa"] = {"exact": qa_f1 - 10, "f1": qa_f1}
    if nli is not None:
        metrics["nli"] = {"accuracy": nli}
    config = load_config(None, ["output_dir=x", "steps=1", "layers=[0, 2, 4]"])
    return Entry(name, config, 90.0, metrics, {"nli": {"batch_1": 10.0, "batch_32": 99.0}})


def test_table_and_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Made-up numbers: they only exercise the arithmetic of the report.
    entries = [
        entry("teacher-qa", 80.0, None),
        entry("teacher-qa-s29", 70.0, None),
        entry("teacher-nli", None, 60.0),
        entry("teacher-nli-s29", None, 62.0),
        entry("1-single-qa", 70.0, None),
        entry("1-single-nli", None, 55.0),
        entry("3-kd", 76.0, 57.0),
        entry("4-anneal", 77.0, 56.0),
        entry("5-weighted", 75.0, 59.0),
        entry("6-smart", 74.0, 58.0),
    ]
    text = table(entries)
    assert "| 4-anneal | 3 | 67.0 | 77.0 | 56.0 | – | – | 10.0 | 99.0 | 1.5 min |" in text
    summary = targets(entries)
    assert "best KD student `4-anneal` 77.0 = 96.2% of the best teacher (80.0); +7.0" in summary
    assert "best KD student `5-weighted` 59.0 = 95.2% of the best teacher (62.0); +4.0" in summary
    doc = tmp_path / "distillation.md"
    doc.write_text(f"# T\n\n{BEGIN}\nnot yet run\n{END}\n\nafter\n")
    monkeypatch.setattr(ablation, "DOC", doc)
    write_doc(entries, "python -m road.training.ablation --steps 5")
    written = doc.read_text()
    assert "not yet run" not in written and written.endswith(f"{END}\n\nafter\n")
    assert "Produced by `python -m road.training.ablation --steps 5`." in written


def test_curve_png(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    records = [
        {"step": s, "task": "qa", "loss": 3.0 / s, "gold": 2.0 / s, "lr": 1e-4} for s in (1, 2, 3)
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in [*records, {"step": 3, "final_dev": {}}]))
    assert read_losses(log)["gold"] == [(1, 2.0), (2, 1.0), (3, 2.0 / 3)]
    plot_curve(log, tmp_path / "img" / "run.png", "run")
    assert (tmp_path / "img" / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"step": 3, "final_dev": {}}) + "\n")
    plot_curve(empty, tmp_path / "img" / "empty.png", "too short to log")
    assert (tmp_path / "img" / "empty.png").is_file()


@pytest.mark.slow
def test_bundle_throughput(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from road.export.pipeline import export_bundle

    export_bundle(tiny_checkpoint, tmp_path / "bundle", precision="fp32")
    config = load_config(tiny_checkpoint / "train_config.yaml")
    assert len(dev_rows(config, tiny_checkpoint, "nli", 4)) == 4
    result = bundle_throughput(tmp_path / "bundle", config, tiny_checkpoint, rows=16)
    assert set(result) == {"qa", "nli"}
    assert all(v > 0 for r in result.values() for v in r.values())
