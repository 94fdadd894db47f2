"""The ablation's configs share one budget and differ only in their distillation settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.ablation import runs
from bench.ablation.runs import RUNS, parse_name, planned, run_config, run_name
from road.training.config import load_config

CONFIGS = runs.CONFIGS
DIFFERING = ("output_dir", "distill", "smart")


def test_five_runs_one_config_each_and_no_old_configs() -> None:
    assert [run.name for run in RUNS] == [
        "1-multitask", "2-kd-average", "3-kd-anneal", "4-road-anneal", "5-road-smart",
    ]  # fmt: skip
    files = sorted(path.name for path in CONFIGS.glob("ablation-*.yaml"))
    assert files == sorted(run.config_file.name for run in RUNS)


def test_every_run_has_the_same_budget_and_data() -> None:
    configs = [run_config(run) for run in RUNS]
    shared = [
        {k: v for k, v in dataclasses.asdict(c).items() if k not in DIFFERING} for c in configs
    ]
    assert all(s == shared[0] for s in shared[1:])
    first = configs[0]
    assert (first.steps, first.lr, first.seed, first.warmup_ratio) == (4500, 2e-4, 13, 0.06)
    assert first.layers == (0, 1, 2) and first.init == "minilm" and first.task_alpha == 0.75
    assert first.qa is not None and first.nli is not None
    assert (first.qa.batch_size, first.nli.batch_size) == (16, 32)
    assert (first.qa.negative_fraction, first.qa.same_article_fraction) == (0.1, 0.2)
    teacher = load_config(CONFIGS / "teacher-qa.yaml")
    speed = ("precision", "attn_implementation", "attention_dropout", "freeze_word_embeddings",
             "length_group_batches")  # fmt: skip
    assert all(getattr(first, key) == getattr(teacher, key) for key in speed)
    assert first.eval_every == 500 and first.eval_subset == 300


def test_each_run_differs_only_in_its_distillation_settings() -> None:
    none, average, anneal, road, smart = (run_config(run) for run in RUNS)
    assert none.distill is None and none.smart is None
    assert average.distill is not None and average.distill.combine == "average"
    assert not average.distill.anneal and average.distill.gold_weight == 0.0
    assert anneal.distill == dataclasses.replace(average.distill, anneal=True)
    assert road.distill == dataclasses.replace(anneal.distill, combine="weighted")
    assert smart.distill == road.distill and smart.smart is not None
    assert average.smart is None and anneal.smart is None and road.smart is None
    for config in (average, anneal, road, smart):
        assert config.distill is not None and config.distill.teachers == runs.TEACHERS
        assert all(len(sources) == 2 for sources in config.distill.teachers.values())


def test_teachers_come_from_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    moved = {task: [f"elsewhere/{task}-{i}" for i in range(2)] for task in runs.TEACHERS}
    monkeypatch.setattr(runs, "TEACHERS", moved)
    for run in RUNS[1:]:
        config = run_config(run)
        assert config.distill is not None and config.distill.teachers == moved
    # The YAML files name the same tasks and as many teachers, for a plain `road train`.
    for run in RUNS[1:]:
        own = load_config(run.config_file).distill
        assert own is not None
        assert {t: len(s) for t, s in own.teachers.items()} == {t: 2 for t in moved}


def test_second_seed_variants_get_their_own_name_and_directory() -> None:
    config = run_config(RUNS[3], 29)
    assert config.seed == 29 and config.output_dir == "runs/ablation/4-road-anneal-s29"
    assert run_name("4-road-anneal", 29) == "4-road-anneal-s29"
    assert parse_name("4-road-anneal-s29") == (RUNS[3], 29)
    assert parse_name("1-multitask") == (RUNS[0], 13)
    with pytest.raises(KeyError, match="no ablation run"):
        parse_name("6-smart")
    names = [run_name(run.name, seed) for run, seed in planned()]
    assert names[:5] == [run.name for run in RUNS]
    assert set(names[5:]) == {f"{n}-s29" for n in runs.SECOND_SEED_RUNS}
    overridden = run_config(RUNS[0], 13, ["steps=7"])
    assert overridden.steps == 7 and overridden.output_dir == "runs/ablation/1-multitask"
    # A distillation or SMART override leaves the runs without that section as they are.
    sets = ["distill.cache_batch_size=4", "smart.weight=0.5"]
    assert run_config(RUNS[0], 13, sets).distill is None
    kd = run_config(RUNS[1], 13, sets)
    assert kd.distill is not None and kd.distill.cache_batch_size == 4 and kd.smart is None
    smart = run_config(RUNS[4], 13, sets).smart
    assert smart is not None and smart.weight == 0.5


def test_the_six_layer_distilled_student() -> None:
    config = load_config(Path(CONFIGS) / "student-distilled.yaml")
    assert config.layers is None and config.steps == 6000
    assert config.distill is not None and config.distill.combine == "weighted"
    assert config.distill.anneal and all(len(s) == 2 for s in config.distill.teachers.values())
    ablation = run_config(RUNS[0])
    assert config.qa == ablation.qa and config.nli == ablation.nli


def test_second_seeds_follow_the_base_seed_results() -> None:
    def entry(name: str, qa: float, nli: float) -> dict[str, object]:
        return {"name": name, "qa_f1": qa, "nli_acc": nli}

    scores = {"2-kd-average": (61.0, 60.0), "3-kd-anneal": (58.0, 57.0),
              "4-road-anneal": (60.0, 59.0), "5-road-smart": (66.0, 56.0)}  # fmt: skip
    entries = [entry("1-multitask", 55.0, 61.0)] + [entry(n, *s) for n, s in scores.items()]
    # Means 60.5, 57.5, 59.5, 61.0: (5) and (2) are the best two.
    assert runs.second_seed_runs(entries) == ("1-multitask", "2-kd-average", "5-road-smart")
    names = [run_name(run.name, seed) for run, seed in planned(entries)]
    assert names[5:] == ["1-multitask-s29", "2-kd-average-s29", "5-road-smart-s29"]
    # Until every variant is in, the plan stays the default.
    assert runs.second_seed_runs(entries[:-1]) == runs.SECOND_SEED_RUNS


def test_shape_runs_change_only_their_shape() -> None:
    base = dataclasses.asdict(run_config(runs.BY_NAME[runs.SHAPE_BASE]))
    changed = {}
    for shape in runs.SHAPES:
        config = dataclasses.asdict(run_config(shape))
        assert config["output_dir"] == f"runs/ablation/{shape.name}"
        diff = {k for k in config if config[k] != base[k]} - {"output_dir"}
        if "distill" in diff:  # only the hidden-state term may change in the distillation
            assert {k for k in config["distill"] if config["distill"][k] != base["distill"][k]} == {
                "hidden_mse"
            }
        changed[shape.name] = (diff, config["layers"])
    assert changed == {
        "6-four-layers": ({"layers"}, (0, 1, 2, 3)),
        "7-top-layers": ({"layers"}, (3, 4, 5)),
        "8-middle-layers": ({"layers"}, (2, 3, 4)),
        "9-hidden-mse": ({"distill"}, (0, 1, 2)),
    }
    assert parse_name("7-top-layers") == (runs.SHAPES[1], 13)
