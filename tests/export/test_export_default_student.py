"""The acceptance check on the real student: its INT8 export passes the 1-point quality gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from road.core.bundle import load_manifest
from road.export.pipeline import export_bundle

REPO = Path(__file__).resolve().parents[2]
# The default bundle's PyTorch checkpoint, committed with the repository.
CHECKPOINT = REPO / "checkpoints" / "default-student"
DEV = REPO.parent / "shared" / "data"


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.skipif(
    not (CHECKPOINT / "config.json").is_file(),
    reason=f"{CHECKPOINT} is absent: the default student's checkpoint is not in this checkout",
)
@pytest.mark.skipif(not DEV.is_dir(), reason="needs ../shared/data (the dev files)")
def test_int8_export_of_the_default_student_passes_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The checkpoint's train_config.yaml names the dev files relative to the repository root.
    monkeypatch.chdir(REPO)
    out = tmp_path / "int8"
    export_bundle(CHECKPOINT, out, target="cpu", precision="int8", metric_budget=1.0)
    manifest = load_manifest(out)
    quality = manifest.quality
    assert (manifest.precision, manifest.quantization) == ("int8", "dynamic")
    assert quality["dev_limit"] is None  # the full dev sets
    assert set(quality["metric_drops"]) == {"qa.f1", "qa.exact", "nli.accuracy"}
    assert all(drop <= 1.0 for drop in quality["metric_drops"].values())
    assert {"Attention", "SkipLayerNormalization"} <= set(manifest.fusions)
    assert (out / "model.onnx").stat().st_size < 40_000_000
