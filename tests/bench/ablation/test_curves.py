"""Training-curve PNGs from a run's log.jsonl: losses, their parts and periodic dev metrics."""

from __future__ import annotations

import json
from pathlib import Path

from bench.ablation.curves import plot_curve, read_dev, read_losses


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


def test_curve_reads_periodic_dev_metrics(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    records = [
        {"start_step": 0, "precision": "bf16"},
        {"step": 1, "task": "nli", "loss": 1.1},
        {"step": 2, "task": "nli", "loss": 0.9, "dev": {"nli": {"accuracy": 55.0}}},
        {"step": 4, "task": "qa", "loss": 0.7, "dev": {"qa": {"HasAns_f1": 40.5, "f1": 50.0}}},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert read_dev(log) == {"dev nli accuracy": [(2, 55.0)], "dev qa HasAns_f1": [(4, 40.5)]}
    plot_curve(log, tmp_path / "dev.png", "with dev")
    assert (tmp_path / "dev.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
