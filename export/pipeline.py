"""`road export`: checkpoint -> ONNX graph -> parity check -> (INT8) -> quality gate -> bundle."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal, get_args

import onnxruntime as ort

from road.core.bundle import Manifest, write_manifest
from road.core.tasks import GRAPH_OUTPUTS
from road.export.errors import ExportError
from road.export.gate import check_quality
from road.export.graph import export_graph
from road.export.parity import check_parity, max_abs_diffs, parity_batches
from road.export.quantize import quantize_int8
from road.export.runtime import onnx_runner, open_session
from road.export.source import Checkpoint, open_checkpoint, pytorch_metrics
from road.export.writer import provenance, publish, stage_files, task_info
from road.training.evaluate import evaluate_with, torch_runner

Precision = Literal["fp32", "int8"]


def export_bundle(
    checkpoint: Path,
    out: Path,
    *,
    precision: Precision = "int8",
    dev_limit: int | None = None,
    atol: float = 1e-3,
    metric_budget: float = 1.0,
) -> Manifest:
    """Export `checkpoint` to a verified bundle at `out`; a failed check leaves `out` untouched.

    Raises `ParityError` when the fp32 graph disagrees with PyTorch by more than `atol`, and
    `QualityGateError` when the exported graph loses more than `metric_budget` points of QA F1,
    QA EM or NLI accuracy on dev (the first `dev_limit` examples of each task).
    """
    if precision not in get_args(Precision):
        raise ExportError(f"precision {precision!r} is not one of {get_args(Precision)}")
    source = open_checkpoint(Path(checkpoint))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Scratch space beside `out`, so that publishing is a rename on one file system.
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        stage = scratch / "bundle"
        manifest = build_bundle(source, stage, scratch, precision, dev_limit, atol, metric_budget)
        publish(stage, out, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def build_bundle(
    source: Checkpoint,
    stage: Path,
    scratch: Path,
    precision: Precision,
    dev_limit: int | None,
    atol: float,
    metric_budget: float,
) -> Manifest:
    """Export, check and write the bundle into `stage`; raises before writing if a check fails."""
    fp32 = export_graph(source.model, scratch / "fp32.onnx")
    batches = parity_batches(source.config, source.path)
    reference = torch_runner(source.model)
    parity = check_parity(reference, onnx_runner(open_session(fp32)), batches, atol)
    graph = fp32 if precision == "fp32" else quantize_int8(fp32, scratch / "int8.onnx")
    session = open_session(graph)
    quality = quality_gate(source, session, dev_limit, metric_budget)
    quality.update(parity_max_abs_diff=parity, atol=atol)
    if graph != fp32:
        # Informational: quantisation error is judged by the gate, not by atol.
        quality["quantized_max_abs_diff"] = max_abs_diffs(reference, onnx_runner(session), batches)
    stage_files(stage, graph, source.path)
    manifest = Manifest(
        precision=precision,
        outputs=GRAPH_OUTPUTS,
        tasks=task_info(source.config, quality["onnx"].get("qa", {}).get("null_threshold")),
        provenance=provenance(source, quality["pytorch"]),
        quality=quality,
    )
    return write_manifest(stage, manifest)


def quality_gate(
    source: Checkpoint, session: ort.InferenceSession, dev_limit: int | None, metric_budget: float
) -> dict[str, Any]:
    """Evaluate the graph on dev and gate it against PyTorch; returns the manifest's `quality`."""
    reference, origin = pytorch_metrics(source, dev_limit)
    exported = evaluate_with(onnx_runner(session), source.config, source.path, dev_limit)
    drops = check_quality(reference, exported, metric_budget)
    return {
        "pytorch": reference,
        "pytorch_source": origin,
        "onnx": exported,
        "metric_drops": drops,
        "metric_budget": metric_budget,
        "dev_limit": dev_limit,
    }
