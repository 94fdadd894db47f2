"""The written bundle: verified manifest, task settings, provenance, quality and publishing."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from road.core.bundle import MANIFEST, load_manifest, sha256_file
from road.core.errors import BundleError
from road.core.tasks import GRAPH_INPUTS, GRAPH_OUTPUTS
from road.export.errors import ExportError
from road.export.pipeline import export_bundle
from road.export.writer import publish, task_info
from road.training.checkpoint import CONFIG_FILE
from road.training.config import load_config


def test_manifest_lists_and_hashes_every_file(fp32_bundle: Path) -> None:
    manifest = load_manifest(fp32_bundle)  # verifies every hash
    assert set(manifest.files) == {p.name for p in fp32_bundle.iterdir()} - {MANIFEST}
    assert {"model.onnx", "tokenizer.json"} <= set(manifest.files)
    assert manifest.files["model.onnx"] == sha256_file(fp32_bundle / "model.onnx")


def test_manifest_describes_graph_and_tasks(fp32_bundle: Path, tiny_checkpoint: Path) -> None:
    manifest = load_manifest(fp32_bundle)
    config = load_config(tiny_checkpoint / CONFIG_FILE)
    assert config.qa is not None and config.nli is not None
    assert (manifest.precision, manifest.graph, manifest.target) == ("fp32", "model.onnx", "cpu")
    assert (manifest.inputs, manifest.outputs) == (GRAPH_INPUTS, GRAPH_OUTPUTS)
    qa, nli = manifest.tasks.qa, manifest.tasks.nli
    assert qa is not None and nli is not None
    assert (qa.max_seq_len, qa.doc_stride, qa.max_question_tokens, qa.max_answer_len) == (
        config.qa.max_seq_len,
        config.qa.doc_stride,
        config.qa.max_question_tokens,
        config.qa.max_answer_len,
    )
    assert nli.max_seq_len == config.nli.max_seq_len
    # The served threshold is the one tuned for this graph, not the checkpoint's.
    assert qa.null_threshold == manifest.quality["onnx"]["qa"]["null_threshold"]


def test_manifest_records_provenance_and_quality(fp32_bundle: Path, tiny_checkpoint: Path) -> None:
    manifest = load_manifest(fp32_bundle)
    provenance: dict[str, Any] = manifest.provenance
    assert provenance["source_checkpoint"] == str(tiny_checkpoint.resolve())
    assert provenance["train_config"]["qa"]["max_seq_len"] == 48
    assert set(provenance["versions"]) >= {"torch", "onnxruntime", "onnx"}
    created = datetime.fromisoformat(provenance["created"])
    assert timedelta(0) <= datetime.now(timezone.utc) - created < timedelta(hours=1)
    saved = json.loads((tiny_checkpoint / "dev_metrics.json").read_text())
    quality = manifest.quality
    assert (
        quality["pytorch"] == provenance["dev_metrics"] == {"qa": saved["qa"], "nli": saved["nli"]}
    )
    assert quality["pytorch_source"] == "dev_metrics.json"
    assert set(quality["onnx"]) == {"qa", "nli"}
    assert set(quality["parity_max_abs_diff"]) == set(GRAPH_OUTPUTS)
    assert max(quality["parity_max_abs_diff"].values()) <= quality["atol"] == 1e-3
    assert quality["metric_budget"] == 1.0
    assert set(quality["metric_drops"]) == {"qa.f1", "qa.exact", "nli.accuracy"}


def test_int8_manifest(int8_bundle: Path) -> None:
    manifest = load_manifest(int8_bundle)
    assert manifest.precision == "int8"
    assert set(manifest.quality["quantized_max_abs_diff"]) == set(GRAPH_OUTPUTS)


def test_bundle_tokenizer_is_the_checkpoints(fp32_bundle: Path, tiny_checkpoint: Path) -> None:
    assert (fp32_bundle / "tokenizer.json").read_bytes() == (
        tiny_checkpoint / "tokenizer.json"
    ).read_bytes()


def test_a_tampered_bundle_is_refused(fp32_bundle: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(fp32_bundle, tmp_path / "copy"))
    graph = bytearray((copy / "model.onnx").read_bytes())
    graph[-1] ^= 0xFF
    (copy / "model.onnx").write_bytes(bytes(graph))
    with pytest.raises(BundleError, match="model.onnx"):
        load_manifest(copy)


def test_unknown_precision_is_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    precision: Any = "fp16"
    with pytest.raises(ExportError, match="fp16"):
        export_bundle(tiny_checkpoint, tmp_path / "out", precision=precision)
    assert not (tmp_path / "out").exists()


def test_a_directory_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=CONFIG_FILE):
        export_bundle(tmp_path, tmp_path / "out")


def test_publish_replaces_an_old_bundle(tmp_path: Path) -> None:
    stage, out, scratch = tmp_path / "stage", tmp_path / "out", tmp_path / "scratch"
    for directory, name in ((stage, "new"), (out, "old")):
        directory.mkdir()
        (directory / name).write_text(name)
    scratch.mkdir()
    publish(stage, out, scratch)
    assert [p.name for p in out.iterdir()] == ["new"]
    assert not stage.exists()
    assert [p.name for p in (scratch / "previous").iterdir()] == ["old"]


@pytest.mark.parametrize("threshold", [None, float("inf")])
def test_qa_task_needs_a_finite_tuned_threshold(
    tiny_checkpoint: Path, threshold: float | None
) -> None:
    with pytest.raises(ExportError, match="null threshold"):
        task_info(load_config(tiny_checkpoint / CONFIG_FILE), {"qa": threshold})
