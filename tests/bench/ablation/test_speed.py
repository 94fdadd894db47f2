"""Item 3's speed table: a finished run exported as static INT8 and timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.ablation import speed


@pytest.mark.slow
def test_measure_exports_and_times_each_finished_run(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speed, "DEFAULT_CHECKPOINT", tmp_path / "absent")
    entries = [
        {"name": "teacher-nli", "layers": 6},  # trained elsewhere: no output_dir, not timed
        {"name": "tiny", "layers": 2, "output_dir": str(tiny_checkpoint.parent)},
        {"name": "unfinished", "layers": 3, "output_dir": str(tmp_path / "nothing")},
    ]
    result = speed.measure(entries, tmp_path / "no-default", rows=16)
    assert list(result["bundles"]) == ["tiny"] and result["threads"] == 1
    timed = result["bundles"]["tiny"]["rows_per_s"]
    assert set(timed) == {"qa", "nli"} and all(v > 0 for r in timed.values() for v in r.values())
    assert "| tiny | 2 |" in speed.table(result)
