"""The runner end to end with a tiny random ELECTRA and tiny teachers: one run per invocation,
resumed across invocations, second seeds, and the summary entries and doc section it writes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.ablation import runs
from bench.ablation.report import BEGIN, END
from bench.ablation.runner import main
from bench.ablation.summary import REQUIRED, SUMMARY


@pytest.fixture
def workdir(
    tmp_path: Path,
    tiny_checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A repository-shaped folder: the doc with its markers and tiny teachers where TEACHERS
    points (whichever QA teacher that is today)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "distillation.md").write_text(f"# D\n\n{BEGIN}\n{END}\n\nreading\n")
    for source in runs.teacher_tasks():
        shutil.copytree(tiny_checkpoint, tmp_path / source)
    return tmp_path


@pytest.fixture
def tiny_sets(
    tiny_data: dict[str, Path], tiny_init: Path, train_overrides: Callable[..., list[str]]
) -> list[str]:
    """`--set` arguments that turn every ablation run into a 4-step tiny run (2-layer init)."""
    base = [o for o in train_overrides(tiny_data, tiny_init, "unused") if "output_dir" not in o]
    extra = ["steps=4", "save_every=2", "layers=[0, 1]", "eval_every=2", "eval_subset=3"]
    return [arg for item in [*base, *extra] for arg in ("--set", item)]


def read_log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_one_run_resumes_across_invocations_and_lands_in_the_summary(
    workdir: Path, tiny_sets: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = workdir / "runs" / "ablation" / "1-multitask"
    assert main(["--run", "1-multitask", "--max-steps", "2", "--no-teachers", *tiny_sets]) == 0
    assert not (workdir / SUMMARY).exists() and (run_dir / "checkpoint-last").is_dir()
    first_wall = json.loads((run_dir / "wall_time.json").read_text())["seconds"]
    main(["--list", *tiny_sets])
    assert "1-multitask            at step 2 of 4" in capsys.readouterr().out
    assert main(["--run", "1-multitask", "--no-teachers", *tiny_sets]) == 0
    starts = [r["start_step"] for r in read_log(run_dir) if "start_step" in r]
    assert starts == [0, 2]  # the second invocation continued from checkpoint-last
    [entry] = json.loads((workdir / SUMMARY).read_text())
    assert set(REQUIRED) <= set(entry) and entry["name"] == "1-multitask"
    assert (entry["layers"], entry["kd"], entry["seed"], entry["steps"]) == (2, False, 13, 4)
    assert entry["wall_s"] >= first_wall and entry["command"].startswith("python -m bench.ablation")
    assert entry["machine"]["cores"] and entry["qa_f1"] is not None and entry["nli_acc"] is not None
    assert (workdir / "docs" / "img" / "distillation" / "1-multitask.png").is_file()
    assert (
        "| 1-multitask | 2 | multi-task, no KD |" in (workdir / "docs/distillation.md").read_text()
    )
    main(["--list", *tiny_sets])
    assert "1-multitask            finished (in summary.json)" in capsys.readouterr().out


@pytest.mark.slow
def test_runs_1_and_4_with_tiny_teachers_and_a_second_seed(
    workdir: Path, tiny_sets: list[str]
) -> None:
    assert main(["--run", "1-multitask", *tiny_sets]) == 0
    assert main(["--run", "4-road-anneal", *tiny_sets, "--set", "distill.cache_batch_size=4"]) == 0
    assert main(["--run", "1-multitask", "--seed", "29", "--no-teachers", *tiny_sets]) == 0
    entries = {e["name"]: e for e in json.loads((workdir / SUMMARY).read_text())}
    teacher_names = {runs.teacher_name(source) for source in runs.teacher_tasks()}
    assert set(entries) == {"1-multitask", "4-road-anneal", "1-multitask-s29", *teacher_names}
    assert all(set(REQUIRED) <= set(e) for e in entries.values())
    road = entries["4-road-anneal"]
    assert road["kd"] and road["teachers"] == runs.TEACHERS and road["steps"] == 4
    assert any(Path("runs/soft-targets").glob("qa-*/meta.json"))  # the KD cache was built
    kd_loss = [r["kd"] for r in read_log(workdir / "runs/ablation/4-road-anneal") if "kd" in r]
    assert kd_loss and all(value > 0 for value in kd_loss)
    second = entries["1-multitask-s29"]
    assert second["seed"] == 29 and second["output_dir"] == "runs/ablation/1-multitask-s29"
    for name in teacher_names:
        teacher = entries[name]
        assert "teacher" in name and teacher["layers"] == 2 and teacher["kd"] is False
        teaches_qa = "qa" in runs.teacher_tasks()[teacher["checkpoint"]]
        # The tiny checkpoints' own QA metrics had other no-answer shares, so a QA teacher is
        # scored here; their NLI metrics are on the same dev pairs and complete, so reused.
        scored = teacher["metrics_from"] == "scored by the runner"
        assert scored == teaches_qa and (teacher["qa_f1"] is None) != teaches_qa
    doc = (workdir / "docs/distillation.md").read_text()
    assert "Seed spread of `1-multitask` (seeds 13, 29)" in doc
    assert "- `4-road-anneal`: QA HasAns F1" in doc and doc.endswith(f"{END}\n\nreading\n")
