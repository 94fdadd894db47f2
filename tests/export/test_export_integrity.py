"""Integrity: external data for large graphs, tampered files refused, `road inspect`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from road.cli import app
from road.core.bundle import load_manifest
from road.core.errors import BundleError
from road.export.pipeline import export_bundle
from road.export.runtime import onnx_runner, open_session
from road.export.writer import GRAPH_DATA_FILE


def padded_batch() -> dict[str, np.ndarray]:
    """Three rows of random ids, the last two ending in padding."""
    ids = np.random.default_rng(7).integers(1000, 30000, size=(3, 20), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 15:] = mask[2, 9:] = 0
    return {"input_ids": ids * mask, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


@pytest.fixture(scope="module")
def large_bundle(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny student saved as if over 2 GB: its weights in external data."""
    out = tmp_path_factory.mktemp("large") / "bundle"
    export_bundle(tiny_checkpoint, out, precision="fp32", large=True)
    return out


def test_a_large_graph_keeps_its_weights_in_one_hashed_data_file(large_bundle: Path) -> None:
    manifest = load_manifest(large_bundle)
    assert {"model.onnx", GRAPH_DATA_FILE} <= set(manifest.files)
    graph = onnx.load(str(large_bundle / "model.onnx"), load_external_data=False)
    external = [t for t in graph.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert external and {
        e.value for t in external for e in t.external_data if e.key == "location"
    } == {GRAPH_DATA_FILE}
    assert (large_bundle / "model.onnx").stat().st_size < 0.1 * (
        large_bundle / GRAPH_DATA_FILE
    ).stat().st_size


def test_a_large_graph_runs_like_the_self_contained_one(
    large_bundle: Path, fp32_bundle: Path
) -> None:
    inputs = padded_batch()
    expected = onnx_runner(open_session(fp32_bundle / "model.onnx"))(inputs)
    actual = onnx_runner(open_session(large_bundle / "model.onnx"))(inputs)
    for name, value in expected.items():
        np.testing.assert_allclose(actual[name], value, atol=1e-6, rtol=0)


def test_tampered_external_data_is_refused_naming_the_file(
    large_bundle: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(large_bundle, tmp_path / "copy"))
    data = bytearray((copy / GRAPH_DATA_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / GRAPH_DATA_FILE).write_bytes(bytes(data))
    with pytest.raises(BundleError, match=f"{GRAPH_DATA_FILE}: sha256 does not match"):
        load_manifest(copy)


def test_inspect_prints_manifest_sizes_metrics_and_providers(fp32_bundle: Path) -> None:
    result = CliRunner().invoke(app, ["inspect", str(fp32_bundle)])
    assert result.exit_code == 0, result.output
    size = (fp32_bundle / "model.onnx").stat().st_size
    assert "sha256 verified" in result.output
    assert f"{size:>12,d}  model.onnx" in result.output
    assert "qa.f1" in result.output and "nli.accuracy" in result.output
    assert "selected   CPUExecutionProvider: bundle target cpu (fp32)" in result.output
    assert '"fusions": {' in result.output  # the manifest itself


def test_inspect_json_is_machine_readable(int8_bundle: Path) -> None:
    result = CliRunner().invoke(app, ["inspect", "--json", str(int8_bundle)])
    report = json.loads(result.output)
    assert report["manifest"]["quantization"] == "dynamic"
    assert report["providers"]["provider"] == "CPUExecutionProvider"
    assert "CPUExecutionProvider" in report["providers"]["available"]
    assert report["files"]["model.onnx"] == (int8_bundle / "model.onnx").stat().st_size


def test_inspect_reports_a_bundle_this_machine_cannot_serve(tensorrt_bundle: Path) -> None:
    result = CliRunner().invoke(app, ["inspect", "--json", str(tensorrt_bundle)])
    report = json.loads(result.output)
    assert report["providers"]["provider"] is None  # no GPU here
    assert report["providers"]["reason"].startswith("refused: the bundle was exported for TensorRT")


def test_inspect_refuses_a_tampered_bundle(fp32_bundle: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(fp32_bundle, tmp_path / "copy"))
    (copy / "tokenizer.json").write_text("{}")
    result = CliRunner().invoke(app, ["inspect", str(copy)])
    assert result.exit_code == 1
    assert "tokenizer.json: sha256 does not match" in result.output
