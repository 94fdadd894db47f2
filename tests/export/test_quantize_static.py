"""Static INT8: fixed-width calibration, the three calibrators, the int8 FFN set, invariance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from road.core.bundle import load_manifest
from road.core.rows import Row, pad_rows
from road.export.ffn_select import select_ffn
from road.export.graph import export_graph
from road.export.optimize import optimize_graph
from road.export.parity import dev_rows
from road.export.quantize import ffn_output_matmuls
from road.export.runtime import onnx_runner, open_session
from road.export.source import Checkpoint, open_checkpoint
from road.export.static_int8 import (
    StaticReport,
    fixed_width_batches,
    keep_fp32,
    quantize_int8_static,
)

WIDTH = 48  # the tiny tasks' max_seq_len


@pytest.fixture(scope="module")
def source(tiny_checkpoint: Path) -> Checkpoint:
    return open_checkpoint(tiny_checkpoint)


@pytest.fixture(scope="module")
def fused(source: Checkpoint, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny student's fused fp32 graph, the one static INT8 starts from."""
    root = tmp_path_factory.mktemp("static")
    plain = export_graph(source.model, root / "fp32.onnx", "torchscript")
    config = source.model.config
    optimize_graph(
        plain,
        root / "fused.onnx",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
    )
    return root / "fused.onnx"


@pytest.fixture(scope="module")
def rows(source: Checkpoint) -> dict[str, list[Row]]:
    return dev_rows(source.config, source.path, 12)


def quantize(
    fused: Path, out: Path, rows: dict[str, list[Row]], source: Checkpoint, method: str
) -> tuple[StaticReport, onnx.ModelProto]:
    batches = fixed_width_batches(rows.values(), WIDTH, batch_size=4)
    size = source.model.config.intermediate_size
    return quantize_int8_static(fused, out, batches, size, method)  # type: ignore[arg-type]


def test_calibration_batches_all_have_one_shape(rows: dict[str, list[Row]]) -> None:
    batches = fixed_width_batches(rows.values(), WIDTH, batch_size=5)
    lengths = {len(row) for task_rows in rows.values() for row in task_rows}
    assert len(lengths) > 1  # the rows themselves are ragged
    assert {b["input_ids"].shape for b in batches} == {(5, WIDTH)}
    assert all(set(b) == {"input_ids", "attention_mask", "token_type_ids"} for b in batches)
    # Every row is calibrated on; a short last batch is topped up with the task's first rows.
    expected = sum(-(-len(task_rows) // 5) for task_rows in rows.values())
    assert len(batches) == expected
    first = rows["qa"][0]
    assert np.array_equal(batches[0]["input_ids"][0, : len(first)], first.input_ids)
    assert batches[0]["attention_mask"][0].sum() == len(first)


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy"])
def test_every_calibrator_builds_a_fused_int8_graph(
    method: str, fused: Path, rows: dict[str, list[Row]], source: Checkpoint, tmp_path: Path
) -> None:
    report, model = quantize(fused, tmp_path / "int8.onnx", rows, source, method)
    ops = {node.op_type for node in onnx.load(str(tmp_path / "int8.onnx")).graph.node}
    # QKV as QAttention with a calibrated input scale, projections written straight to fp32.
    assert {"QAttention", "MatMulIntegerToFloat", "QuantizeLinear"} <= ops
    assert not {"QLinearMatMul", "DynamicQuantizeLinear", "MatMulInteger"} & ops
    assert report.calibration == method and report.width == WIDTH
    size = source.model.config.intermediate_size
    assert report.quantized_ffn_output == ffn_output_matmuls(model, size)
    assert len(report.quantized_ffn_output) == source.model.config.num_hidden_layers
    outputs = onnx_runner(open_session(tmp_path / "int8.onnx"))(pad_rows(rows["qa"][:3]))
    assert all(np.isfinite(value).all() for value in outputs.values())


def test_exported_static_graph_is_batch_invariant(
    fused: Path, rows: dict[str, list[Row]], source: Checkpoint, tmp_path: Path
) -> None:
    quantize(fused, tmp_path / "int8.onnx", rows, source, "percentile")
    run = onnx_runner(open_session(tmp_path / "int8.onnx"))
    mixed = rows["qa"][:3] + rows["nli"][:3]
    alone = [run(pad_rows([row])) for row in mixed]
    # The same rows behind different mates, and padded wider than any of them.
    batched = run(pad_rows(list(reversed(mixed)) + rows["qa"][5:7], width=WIDTH))
    for i, row in enumerate(mixed):
        j = len(mixed) - 1 - i
        for name in ("start_logits", "end_logits"):
            assert np.array_equal(alone[i][name][0], batched[name][j, : len(row)])
        assert np.array_equal(alone[i]["nli_logits"][0], batched["nli_logits"][j])


def names_in_fp32(path: Path, names: list[str]) -> set[str]:
    """The MatMuls of `names` that run in fp32 in the graph at `path`."""
    return {n.name for n in onnx.load(str(path)).graph.node if n.op_type == "MatMul"} & set(names)


def test_reverted_matmuls_are_fp32_and_match_the_fused_graph(
    fused: Path, rows: dict[str, list[Row]], source: Checkpoint, tmp_path: Path
) -> None:
    report, model = quantize(fused, tmp_path / "int8.onnx", rows, source, "minmax")
    ffn = report.quantized_ffn_output
    reverted = keep_fp32(onnx.load(str(tmp_path / "int8.onnx")), model, ffn[:1])
    onnx.save(reverted, str(tmp_path / "reverted.onnx"))
    assert names_in_fp32(tmp_path / "reverted.onnx", ffn) == {ffn[0]}
    # No quantizer is left without a reader.
    graph = reverted.graph
    read = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    assert all(any(o in read for o in node.output) for node in graph.node)
    inputs = pad_rows(rows["nli"][:4])
    int8 = onnx_runner(open_session(tmp_path / "int8.onnx"))(inputs)
    out = onnx_runner(open_session(tmp_path / "reverted.onnx"))(inputs)
    assert not np.array_equal(int8["nli_logits"], out["nli_logits"])  # something did change
    assert np.allclose(int8["nli_logits"], out["nli_logits"], atol=0.5)


def test_gate_keeps_the_layers_it_can_and_records_why(
    fused: Path, rows: dict[str, list[Row]], source: Checkpoint, tmp_path: Path
) -> None:
    graph = tmp_path / "int8.onnx"
    report, model = quantize(fused, graph, rows, source, "minmax")
    ffn = list(report.quantized_ffn_output)
    bad = ffn[-1]

    def evaluate(path: Path) -> dict[str, float]:
        """A gate that fails whenever the last layer's FFN output is int8."""
        return {"qa.f1": 0.0 if bad in names_in_fp32(path, ffn) else 3.0}

    fp32 = select_ffn(graph, model, ffn, report, evaluate, budget=1.0)
    assert fp32 == [bad]
    assert report.quantized_ffn_output == ffn[:-1]
    assert "failed the gate" in report.fp32_matmuls[bad] and "qa.f1" in report.fp32_matmuls[bad]
    assert names_in_fp32(graph, ffn) == {bad}
    # All int8 first, then one trial per layer.
    assert [t["int8"] for t in report.trials] == [ffn] + [ffn[: i + 1] for i in range(len(ffn))]


def test_gate_that_passes_everything_keeps_all_int8(
    fused: Path, rows: dict[str, list[Row]], source: Checkpoint, tmp_path: Path
) -> None:
    graph = tmp_path / "int8.onnx"
    report, model = quantize(fused, graph, rows, source, "minmax")
    ffn = list(report.quantized_ffn_output)
    assert select_ffn(graph, model, ffn, report, lambda _: {"qa.f1": 0.2}, budget=1.0) == []
    assert len(report.trials) == 1 and names_in_fp32(graph, ffn) == set()


def test_static_bundle_records_its_calibration_and_matmul_set(static_bundle: Path) -> None:
    manifest = load_manifest(static_bundle)
    notes = manifest.quality["static_int8"]
    assert notes["calibration"] == manifest.provenance["export_options"]["calibration"]
    assert notes["calibration_width"] == WIDTH
    ffn = set(notes["quantized_ffn_output"]) | {
        name for name, why in notes["fp32_matmuls"].items() if "feed-forward" in why
    }
    assert len(ffn) == 2  # both tiny layers' FFN outputs, each either int8 or fp32 with a reason
    assert notes["ffn_trials"] and "drops" in notes["ffn_trials"][0]
