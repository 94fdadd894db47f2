"""INT8: dynamic quantisation of the optimised graph, and which MatMuls static INT8 leaves alone.

The static (calibrated) path is `road.export.static_int8`.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

# MatMul holds the encoder's weights and Gather the embedding tables (about half of a MiniLM);
# on the optimised graph Attention holds the QKV weights and EmbedLayerNormalization the
# tables. Quantising all of them takes a 6-layer, 384-wide student from ~90 MB to ~23 MB.
DYNAMIC_OPS = ("MatMul", "Attention", "Gather", "EmbedLayerNormalization")


def without_initializer_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop the value_info entries that the dynamo exporter writes for initializers."""
    # ORT's quantizer transposes Gemm weights into MatMul ones but leaves those entries alone,
    # so its own shape inference then fails on the stale shapes.
    initializers = {tensor.name for tensor in model.graph.initializer}
    kept = [info for info in model.graph.value_info if info.name not in initializers]
    del model.graph.value_info[:]
    model.graph.value_info.extend(kept)
    return model


def quantize_int8(fp32: Path, out: Path, large: bool = False) -> Path:
    """Write the dynamically quantised INT8 graph of `fp32` to `out`."""
    quantize_dynamic(
        without_initializer_shapes(onnx.load(str(fp32))),
        out,
        op_types_to_quantize=list(DYNAMIC_OPS),
        # Per-channel int8 weights: on a MiniLM student this halved the mean logit error of
        # per-tensor weights (QInt8 or QUInt8) at the same size and no loss of speed on AVX2.
        weight_type=QuantType.QInt8,
        per_channel=True,
        use_external_data_format=large,
        # The optimizer's fused ops (com.microsoft domain) have no ONNX shape inference.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return out


def activation_matmuls(model: onnx.ModelProto) -> list[str]:
    """Names of the MatMuls whose inputs are all activations (attention scores and context)."""
    initializers = {tensor.name for tensor in model.graph.initializer}
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul" and not any(name in initializers for name in node.input)
    ]


def ffn_output_matmuls(model: onnx.ModelProto, intermediate_size: int) -> list[str]:
    """Names of the feed-forward output MatMuls: those whose weight has `intermediate_size` rows."""
    rows = {t.name: t.dims[0] for t in model.graph.initializer if len(t.dims) == 2}
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul"
        and any(rows.get(name) == intermediate_size for name in node.input)
    ]
