"""Manifest execution fields: version 1 bundles still load; inconsistent fields are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from road.core.bundle import FORMAT_VERSION, MANIFEST, Manifest, load_manifest, write_manifest
from road.core.errors import BundleError
from road.runtime.settings import default_bundle


def write_raw(bundle: Path, **changes: object) -> Path:
    """A bundle with a hand-edited manifest (files re-hashed first)."""
    (bundle / "model.onnx").write_bytes(b"graph")
    base = json.loads((default_bundle() / MANIFEST).read_text())
    base.pop("files")
    upgraded = {**base, "format_version": 2, "quantization": "dynamic"}
    write_manifest(bundle, Manifest.model_validate(upgraded))
    data = json.loads((bundle / MANIFEST).read_text()) | changes
    (bundle / MANIFEST).write_text(json.dumps(data))
    return bundle


def test_a_version_1_bundle_loads_as_dynamic_int8(tmp_path: Path) -> None:
    # Version 1 (the first shipped default) had no quantization, fusions or tensorrt fields.
    bundle = write_raw(tmp_path, format_version=1)
    data = json.loads((bundle / MANIFEST).read_text())
    for field in ("quantization", "fusions", "tensorrt"):
        data.pop(field, None)
    (bundle / MANIFEST).write_text(json.dumps(data))
    manifest = load_manifest(bundle)
    assert manifest.format_version == 1 < FORMAT_VERSION
    assert (manifest.precision, manifest.quantization, manifest.target) == (
        "int8",
        "dynamic",
        "cpu",
    )
    assert manifest.fusions == {} and manifest.tensorrt is None


def test_the_shipped_default_bundle_is_batch_invariant_static_int8() -> None:
    manifest = load_manifest(default_bundle(), verify=True)
    # Exported in format 2; `road calibrate` rewrote its manifest in the current format.
    assert (manifest.format_version, manifest.precision, manifest.quantization) == (
        FORMAT_VERSION,
        "int8",
        "static",
    )
    # Gated on the full dev files at export, within the 1-point budget.
    assert manifest.quality["dev_limit"] is None
    assert all(drop <= 1.0 for drop in manifest.quality["metric_drops"].values())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"precision": "fp32"}, "quantization 'dynamic' with precision fp32"),
        ({"quantization": None}, "quantization None with precision int8"),
        ({"target": "tensorrt", "quantization": "dynamic"}, "tensorrt section"),
        ({"quantization": "awq"}, "quantization"),
    ],
)
def test_inconsistent_execution_fields_are_refused(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    bundle = write_raw(tmp_path, **changes)
    with pytest.raises(BundleError, match=message):
        load_manifest(bundle)


def test_version_2_int8_must_say_how_it_was_quantised(tmp_path: Path) -> None:
    bundle = write_raw(tmp_path)
    data = json.loads((bundle / MANIFEST).read_text())
    del data["quantization"]
    (bundle / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(BundleError, match="quantization None"):
        load_manifest(bundle)
