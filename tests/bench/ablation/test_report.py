"""The results section of docs/distillation.md: table and issue 17's checks from the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.ablation import report
from bench.ablation.report import BEGIN, END, checks, table, write_doc


def entry(name: str, qa: float | None, nli: float | None, kd: bool = False, **extra: Any) -> dict:
    return {
        "name": name, "layers": 6 if "teacher" in name else 3, "method": "m", "kd": kd,
        "seed": 29 if name.endswith("-s29") else 13, "qa_f1": qa,
        "qa_em": None if qa is None else qa - 10, "noans_acc": 90.0, "nli_acc": nli,
        "steps": 3000, "wall_s": 600.0, **extra,
    }  # fmt: skip


# Made-up numbers: they only exercise the arithmetic of the report.
ENTRIES = [
    entry("teacher-qa-stage1", 80.0, None, wall_s=None),
    entry("teacher-nli", None, 70.0, wall_s=None),
    entry("teacher-2-default-student", 60.0, 65.0, wall_s=None),
    entry(
        "1-multitask",
        55.0,
        61.0,
        nli_recall={"entailment": 80.0, "neutral": 20.0},
        output_dir="runs/ablation/1-multitask",
        machine={"gpu": None, "torch_threads": 2},
    ),  # fmt: skip
    entry("4-road-anneal", 73.0, 64.0, kd=True),
    entry("5-road-smart", 56.0, 61.5, kd=True),
    entry("1-multitask-s29", 54.0, 62.5),
    entry("4-road-anneal-s29", 72.5, 63.0, kd=True),
]


def test_table_has_a_row_per_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "PLOTS", tmp_path)
    text = table(ENTRIES)
    assert text.count("\n") == len(ENTRIES) + 1
    row = "| 1-multitask | 3 | m | 55.0 | 45.0 | 90.0 (–) | 61.0 | 80 / 20 | 3000 | 10 min "
    assert f"{row}| CPU, 2 threads | – |" in text
    assert "| teacher-nli | 6 | m | – | – | 90.0 (–) | 70.0 | – | 3000 | – | – | – |" in text
    for name in ("1-multitask", "teacher-nli"):
        (tmp_path / f"{name}.png").write_bytes(b"png")
    text = table(ENTRIES)
    assert "| CPU, 2 threads | [png](img/distillation/1-multitask.png) |" in text
    assert "teacher-nli.png" not in text  # a teacher's curve is not this ablation's


def test_checks_compare_with_the_best_teacher_and_the_no_kd_student() -> None:
    text = checks(ENTRIES)
    assert "`1-multitask` has learned (QA HasAns F1 ≥ 50, NLI ≥ 60%): yes (55.0, 61.0%)" in text
    road = next(line for line in text.splitlines() if line.startswith("- `4-road-anneal`:"))
    assert "QA HasAns F1 73.0 = 91.2% of `teacher-qa-stage1` (80.0) [≥ 90%: met]" in road
    assert "+18.0 over `1-multitask` [≥ +1: met]" in road
    assert "NLI accuracy 64.0 = 91.4% of `teacher-nli` (70.0) [≥ 90%: met], +3.0" in road
    smart = next(line for line in text.splitlines() if line.startswith("- `5-road-smart`:"))
    assert smart.count("missed") == 3  # 70.0% and 87.9% of the teachers; +0.5 NLI
    s29 = next(line for line in text.splitlines() if line.startswith("- `4-road-anneal-s29`:"))
    assert "+18.5 over `1-multitask-s29`" in s29  # the baseline of the same seed
    assert "Seed spread of `1-multitask` (seeds 13, 29): QA HasAns F1 1.0, NLI accuracy 1.5" in text
    assert (
        "Seed spread of `4-road-anneal` (seeds 13, 29): QA HasAns F1 0.5, NLI accuracy 1.0" in text
    )


def test_checks_say_when_the_baseline_has_not_learned_or_budgets_differ() -> None:
    weak = [entry("1-multitask", 30.0, 61.0), entry("2-kd-average", 40.0, 50.0, kd=True, steps=10)]
    text = checks(weak)
    assert "NO — this is not an ablation yet" in text
    assert "Budgets differ between runs (steps, layers): [(10, 3), (3000, 3)]" in text


def test_write_doc_replaces_only_between_the_markers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "distillation.md"
    doc.write_text(f"# T\n\nbefore\n\n{BEGIN}\nold table\n{END}\n\nreading\n")
    monkeypatch.setattr(report, "PLOTS", tmp_path / "img")
    write_doc(ENTRIES, doc)
    text = doc.read_text()
    assert "old table" not in text and text.startswith("# T\n\nbefore\n\n")
    assert text.endswith(f"{END}\n\nreading\n") and "| 4-road-anneal-s29 |" in text
    write_doc([], doc)
    assert "No run has finished yet" in doc.read_text()
    doc.write_text("no markers")
    with pytest.raises(ValueError, match="marker"):
        write_doc(ENTRIES, doc)


def test_shapes_are_not_budget_differences_and_speed_gets_its_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = entry("6-four-layers", 60.0, 62.0, kd=True, layers=4)
    assert "Budgets differ" not in checks([entry("1-multitask", 55.0, 61.0), shape])
    timed = {
        "machine": {"cpu": "Test CPU"}, "finished": "2026-12-04T00:00:00Z", "threads": 1,
        "rows": 256, "bundles": {
            "default bundle (6 layers)": {"layers": 6, "rows_per_s": {
                "qa": {"batch_1": 20.0, "batch_32": 25.0},
                "nli": {"batch_1": 80.0, "batch_32": 120.0}}},
            "6-four-layers": {"layers": 4, "rows_per_s": {
                "qa": {"batch_1": 30.0, "batch_32": 36.0},
                "nli": {"batch_1": 110.0, "batch_32": 170.0}}},
        },
    }  # fmt: skip
    path = tmp_path / "speed.json"
    monkeypatch.setattr(report.speed, "SPEED", path)
    doc = tmp_path / "distillation.md"
    doc.write_text(f"{BEGIN}\n{END}\n")
    write_doc([shape], doc)
    assert "Speed (" not in doc.read_text()  # nothing timed yet
    report.speed.save(timed, path)
    write_doc([shape], doc)
    text = doc.read_text()
    assert "Speed (`python -m bench.ablation --speed`, 2026-12-04T00:00:00Z, Test CPU" in text
    assert "| default bundle (6 layers) | 6 | 20.0 | 25.0 | 80.0 | 120.0 | 1.00× |" in text
    assert "| 6-four-layers | 4 | 30.0 | 36.0 | 110.0 | 170.0 | 1.50× |" in text
