"""The training loop on a tiny random student: learning, exact resume, checkpoints, CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from road.cli import app
from road.training.checkpoint import load_trainer_state
from road.training.config import load_config
from road.training.loop import FINAL, LAST, train

Overrides = Callable[..., list[str]]


def run(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    out: Path,
    steps: int,
    *extra: str,
    max_steps_this_run: int | None = None,
) -> dict[str, Any]:
    config = load_config(None, [*train_overrides(tiny_data, tiny_init, out, steps), *extra])
    return train(config, max_steps_this_run=max_steps_this_run)


def logged_steps(out: Path) -> list[dict[str, Any]]:
    lines = (out / "log.jsonl").read_text().splitlines()
    return [record for record in map(json.loads, lines) if "loss" in record]


def test_loss_decreases_on_repeated_data(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tmp_path: Path,
) -> None:
    run(train_overrides, tiny_data, tiny_init, tmp_path, 30, "save_every=30", "lr=3.0e-3")
    records = logged_steps(tmp_path)
    assert [r["step"] for r in records] == list(range(1, 31))
    first, last = records[:5], records[-5:]
    # Both ends draw the same task mix, so their mean losses are comparable.
    assert sorted(r["task"] for r in first) == sorted(r["task"] for r in last)
    mean = lambda rs: sum(r["loss"] for r in rs) / len(rs)  # noqa: E731
    assert mean(last) < 0.85 * mean(first), (mean(first), mean(last))
    # Span extraction learns fastest; NLI on a tiny random encoder sits near ln 3 this early.
    qa = [r for r in records if r["task"] == "qa"]
    assert len(qa) >= 10
    assert mean(qa[-5:]) < 0.8 * mean(qa[:5]), (mean(qa[:5]), mean(qa[-5:]))
    assert all(r["lr"] > 0 for r in records[:-1]) and records[-1]["lr"] == 0.0  # linear decay to 0


def test_resume_continues_exactly(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tmp_path: Path,
) -> None:
    whole, split = tmp_path / "whole", tmp_path / "split"
    run(train_overrides, tiny_data, tiny_init, whole, 10, "save_every=5")

    # The same run, interrupted after step 5 (its checkpoint), then resumed.
    assert run(
        train_overrides, tiny_data, tiny_init, split, 10, "save_every=5", max_steps_this_run=5
    ) == {"train_steps": 5}
    assert not (split / FINAL).exists()
    assert [r["step"] for r in logged_steps(split)] == [1, 2, 3, 4, 5]
    assert load_trainer_state(split / LAST)["step"] == 5
    metrics = run(train_overrides, tiny_data, tiny_init, split, 10, "save_every=5")
    assert metrics["train_steps"] == 10

    expected, actual = logged_steps(whole), logged_steps(split)
    assert [r["step"] for r in actual] == list(range(1, 11))
    assert [r["task"] for r in actual] == [r["task"] for r in expected]
    assert len({r["task"] for r in actual[5:]}) == 2  # the resumed half exercises both tasks
    for a, e in zip(actual, expected, strict=True):
        assert a["loss"] == pytest.approx(e["loss"], abs=1e-5), a["step"]
        assert a["lr"] == pytest.approx(e["lr"], rel=1e-9), a["step"]
    whole_weights = load_file(str(whole / FINAL / "model.safetensors"))
    split_weights = load_file(str(split / FINAL / "model.safetensors"))
    assert whole_weights.keys() == split_weights.keys()
    for key in whole_weights:
        assert torch.allclose(whole_weights[key], split_weights[key], rtol=0, atol=1e-5), key


def test_checkpoint_contents(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tmp_path: Path,
) -> None:
    metrics = run(train_overrides, tiny_data, tiny_init, tmp_path, 3, "layers=[1]")
    common = {"model.safetensors", "config.json", "tokenizer.json", "train_config.yaml"}
    last = {p.name for p in (tmp_path / LAST).iterdir()}
    final = {p.name for p in (tmp_path / FINAL).iterdir()}
    assert common | {"trainer_state.pt"} <= last
    assert common | {"dev_metrics.json"} <= final
    assert "trainer_state.pt" not in final
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())

    saved = json.loads((tmp_path / FINAL / "dev_metrics.json").read_text())
    assert saved == metrics
    assert saved["train_steps"] == 3
    assert saved["qa"]["total"] > 5  # the dev set plus its unanswerable pairs
    assert {"exact", "f1", "HasAns_f1", "NoAns_f1", "null_threshold"} <= set(saved["qa"])
    assert saved["nli"]["total"] == 6.0
    assert 0.0 <= saved["nli"]["accuracy"] <= 100.0
    assert json.loads((tmp_path / FINAL / "config.json").read_text())["num_hidden_layers"] == 1
    config = load_config(tmp_path / FINAL / "train_config.yaml")
    assert config.layers == (1,) and config.steps == 3
    final_record = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert final_record == {"step": 3, "final_dev": metrics}


def test_cli_train_help() -> None:
    result = CliRunner().invoke(app, ["train", "--help"])
    assert result.exit_code == 0, result.output
    assert "--set" in result.output
    assert "YAML training config" in result.output
    assert "dotted.key=value override" in result.output


def test_cli_train_runs(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tmp_path: Path,
) -> None:
    args = ["train"]
    for override in train_overrides(tiny_data, tiny_init, tmp_path, 2):
        args += ["--set", override]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["train_steps"] == 2
    assert (tmp_path / FINAL / "dev_metrics.json").is_file()


def test_init_heads_take_a_task_head_from_another_checkpoint(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tiny_checkpoint: Path,
    tmp_path: Path,
) -> None:
    from road.training.loop import load_model
    from road.training.model import RoadStudent

    base = train_overrides(tiny_data, tiny_init, tmp_path / "run", 2)
    trained = load_file(str(tiny_checkpoint / "model.safetensors"))
    plain, _ = load_model(load_config(None, base), tmp_path / "plain")
    warm, _ = load_model(
        load_config(None, [*base, f"init_heads={{qa: {tiny_checkpoint}}}"]), tmp_path / "warm"
    )
    for key in ("qa_outputs.weight", "qa_outputs.bias"):
        assert torch.equal(warm.state_dict()[key], trained[key].float())
        assert not torch.equal(plain.state_dict()[key], trained[key].float())
    # the other task's head and the encoder still come from `init`
    assert torch.equal(warm.nli_head.out_proj.weight, plain.nli_head.out_proj.weight)
    assert isinstance(warm, RoadStudent)


def test_init_heads_refuse_a_task_the_run_does_not_train(
    train_overrides: Overrides,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tiny_checkpoint: Path,
    tmp_path: Path,
) -> None:
    from road.training.loop import load_model

    extra = f"init_heads={{sts: {tiny_checkpoint}}}"
    config = load_config(None, [*train_overrides(tiny_data, tiny_init, tmp_path, 2), extra])
    with pytest.raises(ValueError, match="sts"):
        load_model(config, tmp_path / "out")
