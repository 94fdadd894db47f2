"""Precision choice: bf16 where the hardware has it, fp32 elsewhere, and bf16 training learns."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from road.training.config import load_config
from road.training.loop import train
from road.training.precision import choose_precision, cpu_flags


def test_cpu_flags_reads_proc_cpuinfo_format(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f amx_bf16 amx_tile\n\n")
    assert {"avx512f", "amx_bf16"} <= cpu_flags(info)
    assert cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [({"amx_bf16", "avx512f"}, "bf16"), ({"avx512_bf16"}, "bf16"), ({"avx2", "fma"}, "fp32")],
)
def test_auto_follows_the_cpu_flags(flags: set[str], expected: str) -> None:
    choice = choose_precision("auto", "cpu", flags)
    assert choice.precision == expected
    assert choice.reason.startswith("auto: CPU has")


def test_explicit_choices_are_honoured_and_unknown_refused() -> None:
    assert choose_precision("fp32", "cpu", {"amx_bf16"}).precision == "fp32"
    emulated = choose_precision("bf16", "cpu", {"avx2"})
    assert emulated.precision == "bf16" and "emulated" in emulated.reason
    with pytest.raises(ValueError, match="precision must be one of"):
        choose_precision("fp16", "cpu", set())


def test_bf16_training_gives_finite_decreasing_loss(
    train_overrides: Callable[..., list[str]],
    tiny_data: dict[str, Path],
    tiny_init: Path,
    tmp_path: Path,
) -> None:
    overrides = [
        *train_overrides(tiny_data, tiny_init, tmp_path, 30),
        "precision=bf16", "save_every=30", "lr=3.0e-3", "attn_implementation=eager",
        "attention_dropout=0.0", "freeze_word_embeddings=true",
    ]  # fmt: skip
    metrics = train(load_config(None, overrides))
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert lines[0]["precision"] == "bf16"
    records = [r for r in lines if "loss" in r]
    assert all(math.isfinite(r["loss"]) for r in records)
    qa = [r["loss"] for r in records if r["task"] == "qa"]
    assert sum(qa[-5:]) / 5 < 0.8 * sum(qa[:5]) / 5, qa
    assert math.isfinite(metrics["qa"]["f1"]) and math.isfinite(metrics["nli"]["accuracy"])
