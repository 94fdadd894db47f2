"""Graph optimisation: ONNX Runtime's transformer fusions, and fp16 for the CUDA target."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnxruntime.transformers.fusion_options import FusionOptions
from onnxruntime.transformers.optimizer import optimize_model

from road.core.tasks import GRAPH_INPUTS
from road.export.errors import ExportError

# The fusions a BERT/ELECTRA encoder gets when its graph has the pattern the optimizer expects.
EXPECTED = ("EmbedLayerNormalization", "Attention", "SkipLayerNormalization")
# External data file name, for graphs over protobuf's 2 GB limit.
EXTERNAL_DATA_SUFFIX = ".data"


def optimize_graph(
    src: Path,
    out: Path,
    *,
    num_heads: int,
    hidden_size: int,
    use_gpu: bool = False,
    fp16: bool = False,
    large: bool = False,
) -> dict[str, int]:
    """Write the fused graph of `src` to `out`; returns fused op type -> count (non-zero only).

    Raises `ExportError` when the optimizer changed the graph's inputs or outputs.
    """
    # opt_level=0: only the optimizer's Python fusions, which are portable. ORT's own graph
    # optimisations depend on the provider and run again at session load anyway.
    model = optimize_model(
        str(src),
        model_type="bert",
        num_heads=num_heads,
        hidden_size=hidden_size,
        optimization_options=FusionOptions("bert"),
        opt_level=0,
        use_gpu=use_gpu,
    )
    expected = tuple(o.name for o in onnx.load(str(src), load_external_data=False).graph.output)
    inputs = tuple(i.name for i in model.model.graph.input)
    outputs = tuple(o.name for o in model.model.graph.output)
    if inputs != GRAPH_INPUTS or outputs != expected:
        raise ExportError(f"the optimizer changed the graph's interface: {inputs} -> {outputs}")
    if fp16:
        # Inputs stay int64 and outputs float32, so the bundle's contract does not change;
        # LayerNorm-type ops keep fp32 statistics inside the fused kernels.
        model.convert_float_to_float16(keep_io_types=True)
    model.save_model_to_file(str(out), use_external_data_format=large)
    statistics = model.get_fused_operator_statistics()
    return {op: int(count) for op, count in sorted(statistics.items()) if count}


def missing_fusions(fusions: dict[str, int]) -> list[str]:
    """The expected encoder fusions that did not happen (informational, recorded at export)."""
    return [op for op in EXPECTED if not fusions.get(op)]
