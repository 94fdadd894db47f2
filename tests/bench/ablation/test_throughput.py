"""Rows per second of an exported bundle on its training config's dev rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.ablation.throughput import bundle_throughput, dev_rows
from road.training.config import load_config


@pytest.mark.slow
def test_bundle_throughput(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from road.export.pipeline import export_bundle

    export_bundle(tiny_checkpoint, tmp_path / "bundle", precision="fp32")
    config = load_config(tiny_checkpoint / "train_config.yaml")
    assert len(dev_rows(config, tiny_checkpoint, "nli", 4)) == 4
    result = bundle_throughput(tmp_path / "bundle", config, tiny_checkpoint, rows=16)
    assert set(result) == {"qa", "nli"}
    assert all(v > 0 for r in result.values() for v in r.values())
