"""Every target's graph: fusions, static INT8, fp16 for CUDA, TensorRT profiles, invariance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from road.core.bundle import load_manifest
from road.core.rows import Row
from road.core.tasks import GRAPH_INPUTS, GRAPH_OUTPUTS, NLI, QA
from road.export.errors import ExportError
from road.export.invariance import batch_invariance
from road.export.pipeline import export_bundle
from road.export.runtime import onnx_runner, open_session

FUSED = {"Attention", "EmbedLayerNormalization", "SkipLayerNormalization"}


def op_types(bundle: Path) -> set[str]:
    return {node.op_type for node in onnx.load(str(bundle / "model.onnx")).graph.node}


def test_cpu_graphs_are_fused_and_record_their_fusions(
    fp32_bundle: Path, int8_bundle: Path
) -> None:
    for bundle in (fp32_bundle, int8_bundle):
        manifest = load_manifest(bundle)
        assert set(manifest.fusions) >= FUSED, manifest.fusions
        assert manifest.quality["missing_fusions"] == []
    assert {"Attention", "SkipLayerNormalization"} <= op_types(fp32_bundle)
    # Dynamic INT8 quantises the fused attention and the embedding tables as well.
    assert {"QAttention", "QEmbedLayerNormalization", "MatMulInteger"} <= op_types(int8_bundle)


def test_optimized_graph_is_held_to_atol(fp32_bundle: Path) -> None:
    quality = load_manifest(fp32_bundle).quality
    assert set(quality["optimized_max_abs_diff"]) == set(GRAPH_OUTPUTS)
    assert max(quality["optimized_max_abs_diff"].values()) <= quality["atol"]


def test_unoptimized_export_keeps_plain_onnx_ops(tiny_checkpoint: Path, tmp_path: Path) -> None:
    manifest = export_bundle(tiny_checkpoint, tmp_path / "b", precision="fp32", optimize=False)
    assert manifest.fusions == {}
    assert not {"Attention", "SkipLayerNormalization"} & op_types(tmp_path / "b")


def test_static_int8_is_fused_and_batch_invariant(static_bundle: Path, int8_bundle: Path) -> None:
    manifest = load_manifest(static_bundle)
    assert (manifest.precision, manifest.quantization) == ("int8", "static")
    # Fixed-scale QuantizeLinear feeding the fused QAttention and the int8 projections.
    assert {"QuantizeLinear", "QAttention", "MatMulIntegerToFloat"} <= op_types(static_bundle)
    assert "DynamicQuantizeLinear" not in op_types(static_bundle)
    static = manifest.quality["batch_invariance"]
    dynamic = load_manifest(int8_bundle).quality["batch_invariance"]
    assert static["rows"] == dynamic["rows"]
    assert static["rows"]["qa"] > 4 and static["rows"]["nli"] > 4
    # Fixed activation scales: a row's logits do not move with its batch mates or padding,
    # while dynamic quantisation's per-run scales move them.
    assert max(static["max_abs_diff"].values()) < 1e-4
    assert max(dynamic["max_abs_diff"].values()) > 10 * max(static["max_abs_diff"].values())


def test_cuda_bundle_is_fp16_with_the_bundle_contract(cuda_bundle: Path) -> None:
    manifest = load_manifest(cuda_bundle)
    assert (manifest.target, manifest.precision, manifest.tensorrt) == ("cuda", "fp16", None)
    assert "CUDAExecutionProvider not available at export" in manifest.quality["gate_provider"]
    model = onnx.load(str(cuda_bundle / "model.onnx"))
    weights = [t for t in model.graph.initializer if t.data_type != onnx.TensorProto.INT64]
    assert weights and all(t.data_type == onnx.TensorProto.FLOAT16 for t in weights)
    session = open_session(cuda_bundle / "model.onnx")
    assert [(i.name, i.type) for i in session.get_inputs()] == [
        (name, "tensor(int64)") for name in GRAPH_INPUTS
    ]
    assert {o.type for o in session.get_outputs()} == {"tensor(float)"}
    assert max(manifest.quality["fp16_max_abs_diff"].values()) < 0.05


def test_tensorrt_bundle_records_its_profile(tensorrt_bundle: Path) -> None:
    manifest = load_manifest(tensorrt_bundle)
    assert (manifest.target, manifest.precision, manifest.fusions) == ("tensorrt", "fp16", {})
    assert manifest.tensorrt is not None and manifest.tensorrt.fp16
    profile = manifest.tensorrt.profile
    # The tiny checkpoint's QA and NLI rows are both at most 48 tokens.
    assert (profile.min_batch, profile.opt_batch, profile.max_batch) == (1, 8, 32)
    assert (profile.min_sequence, profile.opt_sequence, profile.max_sequence) == (1, 48, 48)
    # TensorRT takes standard ONNX ops only; ORT's fused contrib ops would split its graph.
    domains = {n.domain for n in onnx.load(str(tensorrt_bundle / "model.onnx")).graph.node}
    assert domains <= {"", "ai.onnx"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"target": "cpu", "precision": "fp16"}, "fp16"),
        ({"target": "cuda", "precision": "int8"}, "int8"),
        ({"target": "tensorrt", "precision": "int8"}, "int8"),
        ({"target": "tpu"}, "tpu"),
        ({"target": "tensorrt", "trt_opt_batch": 64, "trt_max_batch": 8}, "profile"),
    ],
)
def test_unsupported_variants_are_refused(
    tiny_checkpoint: Path, tmp_path: Path, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        export_bundle(tiny_checkpoint, tmp_path / "out", **settings)
    assert not (tmp_path / "out").exists()


def rows(lengths: list[int]) -> list[Row]:
    return [Row(np.arange(1, n + 1, dtype=np.int64), np.zeros(n, dtype=np.int64)) for n in lengths]


def rowwise(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each row's outputs depend on that row's real tokens only."""
    ids = (inputs["input_ids"] * inputs["attention_mask"]).astype(np.float32)
    return {
        "start_logits": ids,
        "end_logits": -ids,
        "nli_logits": ids[:, :3] * 0 + ids.sum(1)[:, None],
    }


def batch_dependent(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Like `rowwise`, but a shift that depends on the whole batch (as a per-tensor scale)."""
    out = rowwise(inputs)
    shift = (
        np.arange(out["start_logits"].shape[1], dtype=np.float32) * inputs["input_ids"].max() / 4
    )
    return {**out, "start_logits": out["start_logits"] - 0.5 * shift}


def test_batch_invariance_is_zero_for_a_rowwise_graph() -> None:
    result = batch_invariance(rowwise, {QA: rows([3, 7, 5]), NLI: rows([9, 4])}, batch_size=2)
    assert result["max_abs_diff"] == dict.fromkeys(GRAPH_OUTPUTS, 0.0)
    assert result["changed_spans"] == result["changed_labels"] == 0
    assert result["rows"] == {"qa": 3, "nli": 2}


def test_batch_invariance_catches_batch_dependence() -> None:
    # Alone, each QA row's start logits rise (argmax last); next to the 9-token row they fall.
    result = batch_invariance(
        batch_dependent, {QA: rows([3, 7, 5]), NLI: rows([9, 4])}, batch_size=5
    )
    assert result["max_abs_diff"]["start_logits"] > 1.0
    assert result["max_abs_diff"]["end_logits"] == result["max_abs_diff"]["nli_logits"] == 0.0
    assert result["changed_spans"] == 3 and result["changed_labels"] == 0


def test_runner_outputs_match_batch_invariance_rows(fp32_bundle: Path) -> None:
    runner = onnx_runner(open_session(fp32_bundle / "model.onnx"))
    result = batch_invariance(runner, {QA: rows([5, 12]), NLI: rows([8, 30])}, batch_size=4)
    assert max(result["max_abs_diff"].values()) < 1e-5


def test_cli_export_for_tensorrt_writes_the_profile(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from road.cli import app

    out = tmp_path / "trt"
    args = ["export", str(tiny_checkpoint), "--out", str(out), "--target", "tensorrt"]
    args += ["--precision", "fp32", "--trt-opt-batch", "4", "--trt-max-batch", "24"]
    result = CliRunner().invoke(app, [*args, "--metric-budget", "100"])
    assert result.exit_code == 0, result.output
    manifest = load_manifest(out)
    assert manifest.tensorrt is not None and not manifest.tensorrt.fp16
    assert (manifest.tensorrt.profile.opt_batch, manifest.tensorrt.profile.max_batch) == (4, 24)
    assert '"tensorrt": {' in result.output
