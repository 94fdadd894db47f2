"""The ONNX graph: one graph with dynamic batch and sequence axes that carries every task.

Its outputs are the student's heads' outputs, task by task (`RoadStudent.output_names`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import onnx
import torch

from road.core.tasks import GRAPH_INPUTS, token_outputs
from road.training.model import RoadStudent

OPSET = 18
BATCH = "batch"
SEQUENCE = "sequence"
# protobuf's hard limit for one file; larger graphs keep their weights in external data.
PROTOBUF_LIMIT = 2**31

Exporter = Literal["dynamo", "torchscript"]


def example_inputs(batch: int = 2, sequence: int = 16) -> tuple[torch.Tensor, ...]:
    """Trace inputs in `GRAPH_INPUTS` order: two segments, and a last row that is half padding."""
    # Sizes above 1 keep torch.export from specialising an axis to 1; the padded row keeps the
    # attention-mask path in the trace.
    input_ids = torch.full((batch, sequence), 1000, dtype=torch.int64)
    attention_mask = torch.ones((batch, sequence), dtype=torch.int64)
    attention_mask[-1, sequence // 2 :] = 0
    token_type_ids = torch.zeros((batch, sequence), dtype=torch.int64)
    token_type_ids[:, sequence // 4 :] = 1
    return input_ids, attention_mask, token_type_ids


def parameter_bytes(model: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def export_graph(
    model: RoadStudent, path: Path, exporter: Exporter = "dynamo", *, large: bool | None = None
) -> Path:
    """Export `model` in eval mode to an fp32 ONNX file at `path`.

    `large` (default: the weights exceed protobuf's 2 GB) writes the weights as external data
    beside `path`.
    """
    model.eval()
    if large is None:
        large = parameter_bytes(model) >= PROTOBUF_LIMIT
    if exporter == "dynamo":
        _export_dynamo(model, path, large)
    else:
        _export_torchscript(model, path, large)
    onnx.checker.check_model(str(path), full_check=True)
    return path


def _export_dynamo(model: RoadStudent, path: Path, large: bool) -> None:
    # dynamo=True (torch.export) is torch 2.13's default and maintained exporter. Its graph
    # keeps both axes symbolic, and the parity check proves it on padded real batches of
    # several sizes. ORT's transformer optimizer cannot fuse its attention (docs/export.md).
    batch, sequence = torch.export.Dim(BATCH), torch.export.Dim(SEQUENCE)
    program = torch.onnx.export(
        model,
        example_inputs(),
        input_names=list(GRAPH_INPUTS),
        output_names=list(model.output_names),
        dynamic_shapes={name: {0: batch, 1: sequence} for name in GRAPH_INPUTS},
        opset_version=OPSET,
        dynamo=True,
        external_data=large,
        optimize=True,
        verbose=False,
    )
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    program.save(str(path), external_data=large)


def _export_torchscript(model: RoadStudent, path: Path, large: bool) -> None:
    # The TorchScript exporter with eager attention emits the MatMul/Softmax pattern that ORT's
    # transformer optimizer fuses into Attention and EmbedLayerNormalization; the dynamo graph
    # (SDPA or eager) does not fuse. See docs/export.md, "Why two exporters".
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    tokens = token_outputs(model.tasks.values())
    axes = {name: {0: BATCH, 1: SEQUENCE} for name in GRAPH_INPUTS}
    axes |= {name: {0: BATCH, 1: SEQUENCE} for name in model.output_names if name in tokens}
    axes |= {name: {0: BATCH} for name in model.output_names if name not in tokens}
    try:
        with warnings.catch_warnings():
            # A deliberate choice (above): torch 2.13 deprecates this exporter but ships it.
            warnings.filterwarnings("ignore", "You are using the legacy TorchScript", FutureWarning)
            warnings.filterwarnings(
                "ignore", "You are using the legacy TorchScript", DeprecationWarning
            )
            # transformers' mask helpers test `mask.all()` in Python; the example batch has a
            # padded row, so the trace keeps the general masked path (parity checks padded and
            # unpadded batches).
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            torch.onnx.export(
                model,
                example_inputs(),
                str(path),
                input_names=list(GRAPH_INPUTS),
                output_names=list(model.output_names),
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
                external_data=large,
            )
    finally:
        model.set_attn_implementation(previous)
