"""`road export`: checkpoint -> ONNX graph -> parity -> variant -> quality gate -> bundle."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Any

import onnxruntime as ort

from road.core.bundle import Manifest, TensorRTInfo, write_manifest
from road.core.tasks import GRAPH_INPUTS, gated_metrics
from road.export.gate import check_quality
from road.export.graph import PROTOBUF_LIMIT, parameter_bytes
from road.export.invariance import batch_invariance
from road.export.model_card import write_model_card
from road.export.parity import dev_rows, max_abs_diffs, parity_batches
from road.export.provenance import provenance
from road.export.runtime import onnx_runner, open_session
from road.export.source import Checkpoint, open_checkpoint, pytorch_metrics
from road.export.targets import Precision, Quantization, Target, check_target, tensorrt_info
from road.export.variants import ExportOptions, build_variant
from road.export.writer import publish, stage_files, task_info
from road.runtime.golden_build import build_golden, write_golden
from road.runtime.golden_rows import GoldenSet
from road.runtime.providers import CPU, CUDA, TENSORRT, ProviderChoice, tensorrt_options
from road.runtime.session import Runtime
from road.training.evaluate import evaluate_with, torch_runner

# Rows of each task for the batch-invariance measurement.
INVARIANCE_ROWS = 32


def export_bundle(
    checkpoint: Path,
    out: Path,
    *,
    target: Target = "cpu",
    precision: Precision | None = None,
    quantization: Quantization = "dynamic",
    **settings: Any,
) -> Manifest:
    """Export `checkpoint` to a verified bundle at `out`; a failed check leaves `out` untouched.

    `precision` defaults to the target's fastest (cpu: int8, cuda/tensorrt: fp16); `settings`
    are the other `ExportOptions` fields (dev_limit, atol, metric_budget, optimize, ...).
    Raises `ParityError` when an fp32 graph disagrees with PyTorch by more than `atol`, and
    `QualityGateError` when the bundle's graph loses more than `metric_budget` points of a
    gated metric on dev (span F1 and EM, classification accuracy; the first `dev_limit`
    examples of each task).
    """
    chosen = check_target(target, precision)
    options = ExportOptions(target=target, precision=chosen, quantization=quantization, **settings)
    source = open_checkpoint(Path(checkpoint))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Scratch space beside `out`, so that publishing is a rename on one file system.
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        stage = scratch / "bundle"
        manifest = build_bundle(source, stage, scratch, options)
        publish(stage, out, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def build_bundle(
    source: Checkpoint, stage: Path, scratch: Path, options: ExportOptions
) -> Manifest:
    """Export, check and write the bundle into `stage`; raises before writing if a check fails."""
    large = options.large
    if large is None:
        large = parameter_bytes(source.model) >= PROTOBUF_LIMIT
    batches = parity_batches(source.config, source.path)
    reference = torch_runner(source.model)
    variant = build_variant(source, scratch, options, batches, reference, large)
    trt = _tensorrt(source, options)
    engine_cache = scratch / "trt_cache"
    session, gate_note = gate_session(variant.path, options.target, trt, engine_cache)
    quality = quality_gate(source, session, options.dev_limit, options.metric_budget)
    quality.update(variant.quality, atol=options.atol, gate_provider=gate_note)
    runner = onnx_runner(session)
    if options.precision != "fp32":
        # Informational: quantisation and fp16 error is judged by the gate, not by atol.
        key = "quantized_max_abs_diff" if options.precision == "int8" else "fp16_max_abs_diff"
        quality[key] = max_abs_diffs(reference, runner, batches)
    rows = dev_rows(source.config, source.path, INVARIANCE_ROWS)
    quality["batch_invariance"] = batch_invariance(
        runner, {task.spec: rows[task.name] for task in source.config.task_defs}
    )
    stage_files(stage, variant.path, source.path, large)
    if trt is not None and engine_cache.is_dir():
        shutil.copytree(engine_cache, stage / trt.engine_cache)
    manifest = Manifest(
        precision=options.precision,
        target=options.target,
        quantization=options.quantization_mode,
        fusions=variant.fusions,
        tensorrt=trt,
        outputs=source.model.output_names,
        tasks=task_info(
            source.config, _null_thresholds(quality["onnx"]), _temperatures(quality["onnx"])
        ),
        provenance=provenance(source, quality["pytorch"])
        | {"export_options": dataclasses.asdict(options)},
        quality=quality,
    )
    write_golden(stage, golden_rows(source, stage, manifest, session, gate_note))
    notes = Path(options.card_notes) if options.card_notes else None
    write_model_card(stage, manifest, encoder_shape(source), notes)
    return write_manifest(stage, manifest)


def golden_rows(
    source: Checkpoint,
    stage: Path,
    manifest: Manifest,
    session: ort.InferenceSession,
    provider_note: str,
) -> GoldenSet:
    """The bundle's golden rows: each task's first dev rows through the staged bundle's heads
    and the gate's session on the shipped graph, as the server will run them."""
    provider = ProviderChoice(session.get_providers()[0], provider_note)
    runtime = Runtime(stage, manifest, session, provider)
    return build_golden(runtime, {task.name: Path(task.dev) for task in source.config.task_defs})


def encoder_shape(source: Checkpoint) -> dict[str, int]:
    """The student's shape, for the model card."""
    config = source.model.config
    parameters = sum(p.numel() for p in source.model.parameters())
    return {
        "layers": config.num_hidden_layers,
        "hidden": config.hidden_size,
        "parameters": parameters,
    }


def _null_thresholds(metrics: dict[str, Any]) -> dict[str, float | None]:
    """Each task's tuned no-answer threshold, where it has one (span extraction)."""
    return {task: values.get("null_threshold") for task, values in metrics.items()}


def _temperatures(metrics: dict[str, Any]) -> dict[str, float]:
    """Each classification task's temperature fitted on dev (its ECE before and after it stay
    in the quality block's `onnx` metrics)."""
    return {task: v["temperature"] for task, v in metrics.items() if "temperature" in v}


def _tensorrt(source: Checkpoint, options: ExportOptions) -> TensorRTInfo | None:
    if options.target != "tensorrt":
        return None
    lengths = [task.max_seq_len for task in source.config.task_defs]
    return tensorrt_info(
        lengths,
        options.trt_opt_batch,
        options.trt_max_batch,
        options.trt_opt_sequence,
        fp16=options.precision == "fp16",
    )


def gate_session(
    graph: Path, target: Target, trt: TensorRTInfo | None, engine_cache: Path
) -> tuple[ort.InferenceSession, str]:
    """A session on the target's provider where this machine has it, else on CPU (noted)."""
    available = ort.get_available_providers()
    if trt is not None and TENSORRT in available:
        # Building the engine here ships it in the bundle: no build at serve time on this GPU.
        engine_cache.mkdir(exist_ok=True)
        options = tensorrt_options(trt, GRAPH_INPUTS, engine_cache)
        providers, provider_options = [TENSORRT, CUDA, CPU], [options, {}, {}]
    elif target != "cpu" and CUDA in available:
        providers, provider_options = [CUDA, CPU], [{}, {}]
    else:
        providers, provider_options = [CPU], [{}]
    session = open_session(graph, providers=providers, provider_options=provider_options)
    used = session.get_providers()[0]
    wanted = {"cpu": CPU, "cuda": CUDA, "tensorrt": TENSORRT}[target]
    note = used if used == wanted else f"{used} ({wanted} not available at export)"
    return session, note


def quality_gate(
    source: Checkpoint, session: ort.InferenceSession, dev_limit: int | None, metric_budget: float
) -> dict[str, Any]:
    """Evaluate the graph on dev and gate it against PyTorch; returns the manifest's `quality`."""
    reference, origin = pytorch_metrics(source, dev_limit)
    exported = evaluate_with(onnx_runner(session), source.config, source.path, dev_limit)
    gated = gated_metrics(task.spec for task in source.config.task_defs)
    drops = check_quality(reference, exported, metric_budget, gated)
    return {
        "pytorch": reference,
        "pytorch_source": origin,
        "onnx": exported,
        "metric_drops": drops,
        "metric_budget": metric_budget,
        "dev_limit": dev_limit,
    }
