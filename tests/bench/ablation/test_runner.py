"""The ablation runner's pieces: per-run configs, the results table, the reference teacher."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench.ablation import runner as ablation
from bench.ablation.runner import (
    BEGIN,
    END,
    Entry,
    run_config,
    table,
    targets,
    teachers_of,
    throughput_table,
    write_doc,
)
from road.training.config import load_config


def args(**kwargs: object) -> argparse.Namespace:
    defaults = {"steps": None, "teacher_steps": None, "dev_limit": None, "train_limit": None}
    defaults["set"] = []
    return argparse.Namespace(**{**defaults, **kwargs})


def test_budgets_and_dev_limits_apply_per_run() -> None:
    a = args(steps=40, teacher_steps=60, dev_limit=50, train_limit=900, set=["threads=2"])
    teacher = run_config("teacher-nli", "teacher-nli.yaml", ablation.TEACHERS[1][2], a)
    assert teacher.steps == 60 and teacher.qa is None and teacher.layers is None
    assert teacher.output_dir == "runs/ablation/teacher-nli"
    assert teacher.nli is not None and teacher.nli.dev_limit == 50 and teacher.threads == 2
    student = run_config("6-smart", "ablation-6-smart.yaml", [], a)
    assert student.steps == 40 and student.layers == (0, 1, 2) and student.smart is not None
    assert student.qa is not None and student.qa.dev_limit == 50
    assert student.qa.train_limit == 900 and student.nli is not None
    assert student.nli.train_limit == 900 and teacher.nli.train_limit == 900
    # Every student has the same budget.
    configs = [run_config(n, f, e, args()) for n, f, e in ablation.STUDENTS]
    budgets = {
        (c.steps, c.lr, c.layers, c.qa and c.qa.batch_size, c.nli and c.nli.batch_size)
        for c in configs
    }
    assert {b[:3] for b in budgets} == {(3000, 2e-4, (0, 1, 2))}
    assert {b[3] for b in budgets} - {None} == {16} and {b[4] for b in budgets} - {None} == {32}


def entry(name: str, qa_f1: float | None, nli: float | None, wall_s: float = 90.0) -> Entry:
    metrics = {}
    if qa_f1 is not None:
        metrics["qa"] = {"exact": qa_f1 - 10, "f1": qa_f1}
    if nli is not None:
        metrics["nli"] = {"accuracy": nli}
    config = load_config(None, [f"output_dir=runs/ablation/{name}", "steps=7", "layers=[0, 2, 4]"])
    return Entry(name, config, wall_s, metrics, {"nli": {"batch_1": 10.0, "batch_32": 99.0}})


def test_table_and_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Made-up numbers: they only exercise the arithmetic of the report.
    entries = [
        entry("default-student", 80.0, 60.0, wall_s=float("nan")),
        entry("teacher-qa", 70.0, None),
        entry("teacher-nli", None, 62.0),
        entry("1-single-qa", 70.0, None),
        entry("1-single-nli", None, 55.0),
        entry("2-multitask", 69.0, 54.0),
        entry("3-kd", 76.0, 57.0),
        entry("4-anneal", 77.0, 56.0),
        entry("5-weighted", 75.0, 59.0),
        entry("6-smart", 74.0, 58.5),
    ]
    entries[6].config = run_config("3-kd", "ablation-3-kd.yaml", [], args())
    entries[0].note = "trained earlier"
    text = table(entries)
    assert "| 4-anneal | 3 | 7 | – | 67.0 | 77.0 | 56.0 | 1.5 min | [png](img/distillation/" in text
    assert "| 3-kd | 3 | 3000 | qa: default-student; nli: default-student | 66.0 |" in text
    assert "| default-student | 3 | – | – | 70.0 | 80.0 | 60.0 | trained earlier | – |" in text
    timed = throughput_table(entries)
    assert timed.count("\n") == 3  # header, rule, one row per timed architecture
    student_row = "| 3-layer student graph | `runs/ablation/2-multitask/bundle-int8` | – | – | 10.0"
    assert student_row in timed
    summary = targets(entries)
    assert "`4-anneal` 77.0 = 96.2% of the best teacher `default-student` (80.0); +7.0" in summary
    assert "≥ 95% met, ≥ +1 point met" in summary
    assert "`5-weighted` 59.0 = 95.2% of the best teacher `teacher-nli` (62.0); +4.0" in summary
    doc = tmp_path / "distillation.md"
    doc.write_text(f"# T\n\n{BEGIN}\nnot yet run\n{END}\n\nafter\n")
    monkeypatch.setattr(ablation, "DOC", doc)
    write_doc(entries, "python -m bench.ablation --steps 5")
    written = doc.read_text()
    assert "not yet run" not in written and written.endswith(f"{END}\n\nafter\n")
    assert "Produced by `python -m bench.ablation --steps 5`." in written
    assert "6-layer teacher graph" in written


def test_targets_report_a_miss() -> None:
    entries = [
        entry("default-student", 80.0, 60.0, wall_s=float("nan")),
        entry("1-single-qa", 70.0, None),
        entry("1-single-nli", None, 55.0),
        *(entry(n, 70.5, 50.0) for n in ablation.KD_STUDENTS),
    ]
    summary = targets(entries)
    assert "88.1% of the best teacher `default-student` (80.0); +0.5 points" in summary
    assert summary.count("≥ 95% missed") == 2 and summary.count("≥ +1 point missed") == 2


def test_distilled_students_name_the_reference_and_a_trained_teacher() -> None:
    weighted = run_config("5-weighted", "ablation-5-weighted.yaml", [], args())
    assert weighted.distill is not None and weighted.distill.combine == "weighted"
    text = teachers_of(weighted)
    assert text == "qa: default-student + teacher-qa; nli: default-student + teacher-nli"
    assert teachers_of(run_config("2-multitask", "ablation-2-multitask.yaml", [], args())) == "–"


def test_reference_teacher_is_scored_once_on_the_ablation_dev_examples(
    tiny_checkpoint: Path,
    tiny_data: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ablation, "REFERENCE", ("default-student", tiny_checkpoint))
    monkeypatch.setattr(ablation, "RESULTS", tmp_path)
    tiny = [
        f"qa.dev={tiny_data['squad']}", f"nli.dev={tiny_data['nli']}", "qa.max_seq_len=48",
        "qa.doc_stride=16", "qa.max_question_tokens=16", "nli.max_seq_len=48", "threads=1",
    ]  # fmt: skip
    first = ablation.reference_entry(args(dev_limit=3, set=tiny))
    assert first.metrics["nli"]["total"] == 3 and first.metrics["qa"]["HasAns_total"] == 3
    assert first.config.layers is None and first.name == "default-student"
    assert (tmp_path / "default-student" / "dev_metrics-limit3.json").is_file()

    def no_second_evaluation(*_: object, **__: object) -> None:
        raise AssertionError("the reference teacher was scored twice")

    monkeypatch.setattr("road.training.evaluate.evaluate", no_second_evaluation)
    again = ablation.reference_entry(args(dev_limit=3, set=tiny))
    assert again.metrics == first.metrics
    assert "| default-student | 6 | – | – |" in table([again])
