"""Static INT8: calibrated, batch-invariant QOperator graph of the fused fp32 graph.

Activation scales are fixed at export, so a row's outputs do not depend on its batch mates or
its padding, unlike dynamic quantisation's per-run, per-tensor scales. docs/export.md
("INT8 for CPU") has the measurements behind each choice here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
from onnx import helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
    registry,
)
from onnxruntime.quantization.operators.attention import AttentionQuant
from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

from road.core.rows import Row, pad_rows
from road.export.quantize import (
    activation_matmuls,
    ffn_output_matmuls,
    without_initializer_shapes,
)

Calibration = Literal["minmax", "percentile", "entropy"]
METHODS: dict[str, CalibrationMethod] = {
    "minmax": CalibrationMethod.MinMax,
    "percentile": CalibrationMethod.Percentile,
    "entropy": CalibrationMethod.Entropy,
}
# The fused graph's weight-holding ops: MatMul (projections, FFN), Attention (QKV), the
# embedding tables (EmbedLayerNormalization, Gather).
STATIC_OPS = ("MatMul", "Attention", "Gather", "EmbedLayerNormalization")
CALIBRATION_BATCH = 8
# Batches per calibrator collection: bounds the intermediate outputs held in memory at once.
COLLECT_BATCHES = 4


@dataclass
class StaticReport:
    """What static quantisation did, for the manifest's quality block."""

    calibration: Calibration
    width: int
    batches: int
    quantized_ffn_output: list[str] = field(default_factory=list)
    fp32_matmuls: dict[str, str] = field(default_factory=dict)
    # Feed-forward output sets tried against the gate, and their drops.
    trials: list[dict[str, Any]] = field(default_factory=list)

    def as_quality(self) -> dict[str, Any]:
        return {
            "calibration": self.calibration,
            "calibration_width": self.width,
            "calibration_batches": self.batches,
            "quantized_ffn_output": self.quantized_ffn_output,
            "fp32_matmuls": self.fp32_matmuls,
            "ffn_trials": self.trials,
        }


def fixed_width_batches(
    rows: Iterable[Sequence[Row]], width: int, batch_size: int = CALIBRATION_BATCH
) -> list[dict[str, np.ndarray]]:
    """Batches of `batch_size` rows of one task each, every batch padded to `width`.

    ORT's percentile and entropy calibrators stack the activations of the batches they collect
    together into one array, so every batch must have one shape; a task's last batch is filled
    with its first rows again rather than left short.
    """
    batches = []
    for task_rows in rows:
        count = len(task_rows)
        for start in range(0, count, batch_size):
            chosen = [task_rows[(start + i) % count] for i in range(batch_size)]
            batches.append(pad_rows(chosen, width=width))
    return batches


class BatchReader(CalibrationDataReader):
    """Feeds calibration batches to ORT's calibrator, a range of them at a time."""

    def __init__(self, batches: Iterable[dict[str, np.ndarray]]) -> None:
        self._batches = list(batches)
        self._next: Iterator[dict[str, np.ndarray]] = iter(self._batches)

    def __len__(self) -> int:
        return len(self._batches)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._next = iter(self._batches[start_index:end_index])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._next, None)


@contextmanager
def static_attention() -> Iterator[None]:
    """Let quantize_static's QOperator path quantise the fused Attention (QKV) as QAttention."""
    # ORT registers Attention for dynamic quantisation only; its quantizer takes the input
    # scale from calibration when one exists, and the QAttention kernel takes it as an input.
    table = registry.QLinearOpsRegistry
    previous = table.get("Attention")
    table["Attention"] = AttentionQuant
    try:
        yield
    finally:
        if previous is None:
            del table["Attention"]
        else:
            table["Attention"] = previous


def matmul_integer_to_float(model: onnx.ModelProto) -> int:
    """Replace each QLinearMatMul → DequantizeLinear pair by one MatMulIntegerToFloat.

    QLinearMatMul requantises its output to uint8 only for the next node to dequantise it
    again; MatMulIntegerToFloat writes the fp32 product directly, skipping two passes over the
    tensor and the output rounding. Returns how many pairs were replaced.
    """
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    replaced: dict[int, onnx.NodeProto] = {}
    dropped: set[int] = set()
    for node in model.graph.node:
        users = consumers.get(node.output[0], []) if node.op_type == "QLinearMatMul" else []
        if len(users) != 1 or users[0].op_type != "DequantizeLinear":
            continue
        a, a_scale, a_zero, b, b_scale, b_zero = node.input[:6]
        replaced[id(node)] = helper.make_node(
            "MatMulIntegerToFloat",
            [a, b, a_scale, b_scale, a_zero, b_zero],
            [users[0].output[0]],
            name=f"{node.name}_to_float",
            domain="com.microsoft",
        )
        dropped.add(id(users[0]))
    kept = [replaced.get(id(n), n) for n in model.graph.node if id(n) not in dropped]
    del model.graph.node[:]
    model.graph.node.extend(kept)
    used = {name for node in kept for name in node.input}
    unused = [t for t in model.graph.initializer if t.name not in used]
    for tensor in unused:
        model.graph.initializer.remove(tensor)
    return len(replaced)


def quantize_int8_static(
    fp32: Path,
    out: Path,
    batches: Sequence[dict[str, np.ndarray]],
    intermediate_size: int,
    calibration: Calibration = "minmax",
    large: bool = False,
) -> tuple[StaticReport, onnx.ModelProto]:
    """Write the static INT8 graph of `fp32` (fused or not) to `out`, calibrated on `batches`.

    Every weight MatMul is int8, the feed-forward output ones included (`road.export.
    ffn_select` puts some back to fp32 when the gate needs it). Returns the report and the
    shape-inferred fp32 model those MatMuls come back from.
    """
    # Symbolic shape inference knows the fused contrib ops, so the calibrator can type (and
    # observe) their outputs; ONNX's own shape inference leaves them untyped.
    model = SymbolicShapeInference.infer_shapes(
        without_initializer_shapes(onnx.load(str(fp32))), auto_merge=True
    )
    report = StaticReport(calibration, int(batches[0]["input_ids"].shape[1]), len(batches))
    report.quantized_ffn_output = ffn_output_matmuls(model, intermediate_size)
    # Attention's activation-by-activation products (unfused graph only; the fused Attention
    # keeps them inside QAttention, in fp32) would quantise softmax outputs.
    report.fp32_matmuls = {
        name: "activation x activation (attention scores or context)"
        for name in activation_matmuls(model)
    }
    # quantize_static moves the weights of the model it is given into a temporary external
    # data file; it gets a copy, so that `model` keeps its fp32 weights for `keep_fp32`.
    given = onnx.ModelProto()
    given.CopyFrom(model)
    with static_attention():
        quantize_static(
            given,
            out,
            BatchReader(batches),
            quant_format=QuantFormat.QOperator,
            op_types_to_quantize=list(STATIC_OPS),
            nodes_to_exclude=list(report.fp32_matmuls),
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
            calibrate_method=METHODS[calibration],
            use_external_data_format=large,
            extra_options={
                "DefaultTensorType": onnx.TensorProto.FLOAT,
                # Collected a few batches at a time; histograms merge across collections.
                "CalibStridedMinMax": math.gcd(len(batches), COLLECT_BATCHES),
            },
        )
    quantized = onnx.load(str(out))
    matmul_integer_to_float(quantized)
    onnx.save(quantized, str(out), save_as_external_data=large, location=f"{out.name}.data")
    return report, model


def keep_fp32(
    quantized: onnx.ModelProto, fp32: onnx.ModelProto, names: Iterable[str]
) -> onnx.ModelProto:
    """A copy of `quantized` in which the MatMuls `names` of `fp32` run in fp32 again.

    Lets export try feed-forward output sets against the gate from one calibration: each
    MatMul's int8 replacement (found by its output) gives way to the original node and weight.
    """
    model = onnx.ModelProto()
    model.CopyFrom(quantized)
    originals = {n.output[0]: n for n in fp32.graph.node if n.name in set(names)}
    weights = {t.name: t for t in fp32.graph.initializer}
    nodes = [originals.get(n.output[0], n) for n in model.graph.node]
    present = {t.name for t in model.graph.initializer}
    for node in originals.values():
        model.graph.initializer.extend(
            weights[i] for i in node.input if i in weights and i not in present
        )
    del model.graph.node[:]
    model.graph.node.extend(_live(nodes, {o.name for o in model.graph.output}))
    used = {name for node in model.graph.node for name in node.input}
    for tensor in [t for t in model.graph.initializer if t.name not in used]:
        model.graph.initializer.remove(tensor)
    return model


def _live(nodes: Sequence[onnx.NodeProto], outputs: set[str]) -> list[onnx.NodeProto]:
    """`nodes` without those whose outputs nothing reads (the reverted MatMuls' quantizers)."""
    live = list(nodes)
    while True:
        read = outputs | {name for node in live for name in node.input}
        kept = [node for node in live if any(name in read for name in node.output)]
        if len(kept) == len(live):
            return kept
        live = kept
