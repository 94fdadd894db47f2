"""Distillation through `road train` on tiny models: learning, exact resume, cache reuse."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from road.training.checkpoint import load_trainer_state
from road.training.config import load_config
from road.training.loop import FINAL, LAST, micro_batches, train
from road.training.model import RoadStudent
from road.training.optim import make_optimizer, parameter_depth

Overrides = Callable[..., list[str]]


def distill_overrides(teachers: list[Path], cache: Path) -> list[str]:
    names = ", ".join(str(t) for t in teachers)
    return [
        f"distill.teachers={{qa: [{names}], nli: [{names}]}}",
        f"distill.cache_dir={cache}",
        "distill.cache_shard_rows=8",
    ]


ALL_ON = [
    "distill.combine=weighted",
    "distill.anneal=true",
    "distill.temperature=2.0",
    "distill.hidden_mse=0.1",
    "smart.weight=0.5",
    "smart.bregman_weight=0.5",
    "tasks_per_step=2",
    "grad_accum=2",
    "layer_lr_decay=0.8",
]


def logged(out: Path) -> list[dict[str, Any]]:
    lines = (out / "log.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if "loss" in r]


@pytest.fixture(scope="module")
def teachers(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tiny_checkpoint: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> list[Path]:
    """Two teachers per task: tiny students trained for 30 and for 6 steps."""
    out = tmp_path_factory.mktemp("teacher")
    overrides = train_overrides(tiny_data, tiny_init, out, 30)
    train(load_config(None, [*overrides, "lr=3.0e-3", "save_every=30", "seed=5"]))
    return [out / FINAL, tiny_checkpoint]


def test_distilled_loss_decreases(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    teachers: list[Path],
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    config = load_config(
        None,
        [
            *train_overrides(tiny_data, tiny_init, out, 24),
            *distill_overrides(teachers, tmp_path / "cache"),
            "distill.combine=weighted",
            "tasks_per_step=2",
            "lr=3.0e-3",
            "save_every=24",
        ],
    )
    metrics = train(config)
    assert metrics["train_steps"] == 24 and "qa" in metrics and "nli" in metrics
    records = logged(out)
    assert all(r["task"] == "nli+qa" or r["task"] == "qa+nli" for r in records)
    assert all({"loss", "gold", "kd"} <= set(r) for r in records)
    mean = lambda rs, key: sum(r[key] for r in rs) / len(rs)  # noqa: E731
    # Pure distillation (gold_weight 0): the loss is the KD term, and it falls.
    assert all(r["loss"] == pytest.approx(r["kd"]) for r in records)
    assert mean(records[-5:], "loss") < 0.85 * mean(records[:5], "loss")
    caches = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(caches) == 4 and sum(name.startswith("qa-") for name in caches) == 2
    saved = load_config(out / FINAL / "train_config.yaml")
    assert saved.distill is not None and saved.distill.combine == "weighted"


def test_resume_with_every_option_continues_exactly(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    teachers: list[Path],
    tmp_path: Path,
) -> None:
    def run(out: Path, stop: int | None = None) -> dict[str, Any]:
        overrides = [
            *train_overrides(tiny_data, tiny_init, out, 6),
            *distill_overrides(teachers, tmp_path / "cache"),
            *ALL_ON,
        ]
        return train(load_config(None, overrides), max_steps_this_run=stop)

    whole, split = tmp_path / "whole", tmp_path / "split"
    run(whole)
    assert run(split, stop=3) == {"train_steps": 3}
    state = load_trainer_state(split / LAST)
    assert {"projections", "ema"} <= set(state) and state["step"] == 3
    assert run(split)["train_steps"] == 6

    expected, actual = logged(whole), logged(split)
    assert [r["step"] for r in actual] == list(range(1, 7))
    for a, e in zip(actual, expected, strict=True):
        assert {"gold", "kd", "hidden", "smart", "bregman"} <= set(a)
        for key in ("loss", "gold", "kd", "hidden", "smart", "bregman"):
            assert a[key] == pytest.approx(e[key], abs=1e-5), (a["step"], key)
    w, s = (load_file(str(p / FINAL / "model.safetensors")) for p in (whole, split))
    assert all(torch.allclose(w[k], s[k], rtol=0, atol=1e-5) for k in w)
    assert len(list((tmp_path / "cache").iterdir())) == 4  # both runs shared one cache


def test_micro_batches_split_across_accumulation_and_processes() -> None:
    config = load_config(None, ["output_dir=x", "steps=1", "grad_accum=2"])
    rows = list(range(8))
    assert micro_batches(rows, config, 0, 1) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert micro_batches(rows, config, 0, 2) == [[0, 1], [4, 5]]
    assert micro_batches(rows, config, 1, 2) == [[2, 3], [6, 7]]
    with pytest.raises(ValueError, match="equal parts"):
        micro_batches(list(range(6)), config, 0, 2)


def test_layer_wise_lr_decay(tiny_init: Path) -> None:
    student = RoadStudent.from_pretrained(tiny_init)  # 2 layers
    assert parameter_depth("electra.embeddings.word_embeddings.weight", 2) == 0
    assert parameter_depth("electra.encoder.layer.1.output.dense.weight", 2) == 2
    assert parameter_depth("nli_head.dense.weight", 2) == 3
    config = load_config(None, ["output_dir=x", "steps=1", "lr=1.0", "layer_lr_decay=0.5"])
    optimizer = make_optimizer(student, config, 2)
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    assert lr_of[id(student.qa_outputs.weight)] == 1.0
    assert lr_of[id(student.electra.encoder.layer[1].attention.self.query.weight)] == 0.5
    assert lr_of[id(student.electra.encoder.layer[0].attention.self.query.weight)] == 0.25
    assert lr_of[id(student.electra.embeddings.word_embeddings.weight)] == 0.125
    plain = make_optimizer(student, load_config(None, ["output_dir=x", "steps=1"]), 2)
    assert [g["weight_decay"] for g in plain.param_groups] == [0.01, 0.0]


def test_shipped_distillation_configs_load() -> None:
    configs = Path(__file__).resolve().parents[2] / "training" / "configs"
    for path in sorted(configs.glob("*.yaml")):
        config = load_config(path)
        assert config.steps > 0 and config.tasks(), path.name
        if config.distill is not None:
            assert set(config.distill.teachers) <= set(config.tasks()), path.name


def test_single_task_teacher_distils_its_task_only(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tmp_path: Path,
) -> None:
    teacher_out, student_out = tmp_path / "teacher-qa", tmp_path / "student"
    qa_only = [o for o in train_overrides(tiny_data, tiny_init, teacher_out, 4) if "nli." not in o]
    teacher_metrics = train(load_config(None, qa_only))
    assert set(teacher_metrics) == {"qa", "train_steps"}
    config = load_config(
        None,
        [
            *train_overrides(tiny_data, tiny_init, student_out, 4),
            f"distill.teachers.qa=[{teacher_out / FINAL}]",
            f"distill.cache_dir={tmp_path / 'cache'}",
        ],
    )
    train(config)
    records = logged(student_out)
    assert {r["task"] for r in records} == {"qa", "nli"}
    for r in records:  # NLI has no teacher: gold loss only
        assert ("kd" in r) == (r["task"] == "qa")
        if r["task"] == "nli":
            assert r["loss"] == pytest.approx(r["gold"])
