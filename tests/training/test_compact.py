"""Compact (fp16/bf16) checkpoints: round trip, fingerprint, CLI, and continuing a run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from road.cli import app
from road.core.rows import pad_rows
from road.training.compact import compact_checkpoint, read_compact
from road.training.config import load_config
from road.training.evaluate import torch_runner
from road.training.loop import FINAL, LAST, train
from road.training.model import RoadStudent


def logits(path: Path) -> dict[str, np.ndarray]:
    model = RoadStudent.from_pretrained(path).eval()
    rng = np.random.default_rng(0)
    from road.core.rows import Row

    rows = [Row(rng.integers(1000, 5000, n), np.zeros(n, dtype=np.int64)) for n in (9, 17, 30)]
    return torch_runner(model)(pad_rows(rows))


@pytest.mark.parametrize(("dtype", "atol"), [("fp16", 2e-3), ("bf16", 3e-2)])
def test_compact_round_trip(tiny_checkpoint: Path, tmp_path: Path, dtype: str, atol: float) -> None:
    record = compact_checkpoint(tiny_checkpoint, tmp_path / "c", dtype, evaluate_dev=True)
    assert record["dtype"] == dtype and record["step"] == 6
    assert read_compact(tmp_path / "c") == record
    size = (tmp_path / "c" / "model.safetensors").stat().st_size
    assert size < 0.55 * (tiny_checkpoint / "model.safetensors").stat().st_size
    loaded = RoadStudent.from_pretrained(tmp_path / "c")
    assert all(p.dtype.is_floating_point and p.dtype.itemsize == 4 for p in loaded.parameters())
    expected, actual = logits(tiny_checkpoint), logits(tmp_path / "c")
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], atol=atol, rtol=0)
    metrics = json.loads((tmp_path / "c" / "dev_metrics.json").read_text())
    source = record["source_metrics"]
    assert metrics["nli"]["accuracy"] == pytest.approx(source["nli"]["accuracy"], abs=20)
    assert metrics["train_steps"] == source["train_steps"] == 6


def test_damaged_weights_are_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    compact_checkpoint(tiny_checkpoint, tmp_path / "c")
    weights = tmp_path / "c" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="were changed or damaged"):
        read_compact(tmp_path / "c")


def test_cli_compact(tiny_checkpoint: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["compact", str(tiny_checkpoint), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dtype"] == "fp16"
    assert (
        CliRunner()
        .invoke(app, ["compact", str(tiny_checkpoint), "-o", "x", "--dtype", "int4"])
        .exit_code
        != 0
    )


def test_resume_from_compact_continues_the_schedule(
    train_overrides: Callable[..., list[str]],
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tmp_path: Path,
) -> None:
    """A session trains 5 of 10 steps; another machine continues from the committed compact copy."""
    whole, first, second = tmp_path / "whole", tmp_path / "first", tmp_path / "second"
    base = lambda out: train_overrides(tiny_data, tiny_init, out, 10)  # noqa: E731
    train(load_config(None, [*base(whole), "save_every=5"]))
    train(load_config(None, [*base(first), "save_every=5"]), max_steps_this_run=5)
    compact_checkpoint(first / LAST, tmp_path / "stage1")
    assert not (first / FINAL).exists()
    metrics = train(load_config(None, [*base(second), f"resume_from={tmp_path / 'stage1'}"]))
    assert metrics["train_steps"] == 10
    records = [json.loads(x) for x in (second / "log.jsonl").read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    assert records[0]["start_step"] == 5 and [r["step"] for r in steps] == list(range(6, 11))
    expected = [json.loads(x) for x in (whole / "log.jsonl").read_text().splitlines()]
    expected = [r for r in expected if "loss" in r][5:]
    # Same batches and the same learning-rate schedule; only AdamW's moments restarted.
    assert [r["task"] for r in steps] == [r["task"] for r in expected]
    assert [r["lr"] for r in steps] == pytest.approx([r["lr"] for r in expected], rel=1e-9)
