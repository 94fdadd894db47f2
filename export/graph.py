"""The ONNX graph: one graph with dynamic batch and sequence axes that carries every task."""

from __future__ import annotations

from pathlib import Path

import onnx
import torch

from road.core.tasks import GRAPH_INPUTS, GRAPH_OUTPUTS
from road.training.model import RoadStudent

OPSET = 18
BATCH = "batch"
SEQUENCE = "sequence"


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


def export_graph(model: RoadStudent, path: Path) -> Path:
    """Export `model` in eval mode to one self-contained fp32 ONNX file at `path`."""
    model.eval()
    batch, sequence = torch.export.Dim(BATCH), torch.export.Dim(SEQUENCE)
    # dynamo=True (torch.export) is torch 2.13's default and maintained exporter; the
    # TorchScript path (dynamo=False) is deprecated. Its graph keeps both axes symbolic, and
    # the parity check proves it on padded real batches of several sizes.
    program = torch.onnx.export(
        model,
        example_inputs(),
        input_names=list(GRAPH_INPUTS),
        output_names=list(GRAPH_OUTPUTS),
        dynamic_shapes={name: {0: batch, 1: sequence} for name in GRAPH_INPUTS},
        opset_version=OPSET,
        dynamo=True,
        external_data=False,
        optimize=True,
        verbose=False,
    )
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    program.save(str(path), external_data=False)
    onnx.checker.check_model(str(path), full_check=True)
    return path
