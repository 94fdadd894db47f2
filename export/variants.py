"""The graph each target gets: exporter, fusions, precision; parity-checked at every fp32 step.

| target   | precision     | graph                                                         |
|----------|---------------|---------------------------------------------------------------|
| cpu      | fp32          | TorchScript export, ORT transformer fusions                   |
| cpu      | int8 dynamic  | the same, then dynamic INT8 (MatMul, Attention, embeddings)   |
| cpu      | int8 static   | the same fused graph, static INT8 calibrated on dev rows      |
| cuda     | fp16 / fp32   | TorchScript export, GPU fusions, then fp16 (I/O kept)         |
| tensorrt | fp16 / fp32   | dynamo export, plain ONNX ops: TensorRT fuses it itself       |

`optimize=False` skips the fusions and uses the dynamo export everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from road.core.evaluation import Runner
from road.export.ffn_select import build_static
from road.export.graph import export_graph
from road.export.optimize import missing_fusions, optimize_graph
from road.export.options import ExportOptions
from road.export.parity import check_parity
from road.export.quantize import quantize_int8
from road.export.runtime import onnx_runner, open_session
from road.export.source import Checkpoint
from road.export.targets import to_fp16


@dataclass
class Variant:
    """The built graph and what building it measured."""

    path: Path
    fusions: dict[str, int] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)


def build_variant(
    source: Checkpoint,
    scratch: Path,
    options: ExportOptions,
    batches: Sequence[dict[str, np.ndarray]],
    reference: Runner,
    large: bool,
) -> Variant:
    """Export, check parity (fp32 steps, `atol`) and convert the graph for `options`."""
    (scratch / "export").mkdir()
    fp32 = export_graph(
        source.model, scratch / "export" / "fp32.onnx", options.exporter, large=large
    )
    variant = Variant(fp32)
    variant.quality["parity_max_abs_diff"] = _parity(fp32, reference, batches, options.atol)
    if options.optimize and options.target != "tensorrt":
        _optimize(source, scratch, options, batches, reference, large, variant)
    if options.quantization_mode == "static":
        # Static INT8 of the fused graph, with as many int8 feed-forward outputs as the gate allows.
        int8 = scratch / "int8.onnx"
        variant.quality |= build_static(source, variant.path, int8, options, large)
        variant.path = int8
    elif options.precision == "int8":
        variant.path = quantize_int8(variant.path, scratch / "int8.onnx", large)
    elif options.precision == "fp16" and options.target == "cuda":
        variant.path = to_fp16(variant.path, scratch / "fp16.onnx", large)
    return variant


def _optimize(
    source: Checkpoint,
    scratch: Path,
    options: ExportOptions,
    batches: Sequence[dict[str, np.ndarray]],
    reference: Runner,
    large: bool,
    variant: Variant,
) -> None:
    config = source.model.config
    variant.path = scratch / "optimized.onnx"
    variant.fusions = optimize_graph(
        scratch / "export" / "fp32.onnx",
        variant.path,
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        use_gpu=options.target == "cuda",
        large=large,
    )
    variant.quality["missing_fusions"] = missing_fusions(variant.fusions)
    # Fused kernels are fp32 too: the optimised graph is held to the same `atol`.
    variant.quality["optimized_max_abs_diff"] = _parity(
        variant.path, reference, batches, options.atol
    )


def _parity(
    graph: Path, reference: Runner, batches: Sequence[dict[str, np.ndarray]], atol: float
) -> dict[str, float]:
    return check_parity(reference, onnx_runner(open_session(graph)), batches, atol)
