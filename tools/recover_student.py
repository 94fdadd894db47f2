"""Rebuild a PyTorch checkpoint of the default student from its INT8 bundle.

The fp32 checkpoint behind road/default_bundle was not kept, so this dequantizes the bundle's
weights (int8 x per-channel scale, exactly what the INT8 graph multiplies by) back into a
`RoadStudent`. Symmetric per-channel re-quantization of these weights gives the same int8
values, so `road export` of the result reproduces the bundle's weights.

    python tools/recover_student.py road/default_bundle checkpoints/default-student
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from road.training.checkpoint import save_checkpoint
from road.training.config import TrainConfig, load_config
from road.training.init import load_student, load_tokenizer
from road.training.model import RoadStudent

# Order of the quantized MatMuls in each encoder layer, as the dynamo graph emits them.
LAYER_LINEARS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


def _dequantize(inits: dict[str, np.ndarray], stem: str) -> np.ndarray:
    q = inits[f"{stem}_quantized"].astype(np.float32)
    zero = inits[f"{stem}_zero_point"].astype(np.float32)
    return (q - zero) * inits[f"{stem}_scale"]


def _matmul_stems(graph: onnx.GraphProto) -> list[str]:
    stems = []
    for node in graph.node:
        if node.op_type == "MatMulInteger":
            stems.append(node.input[1].removesuffix("_quantized"))
    return stems


def recovered_state(bundle: Path, student: RoadStudent) -> dict[str, torch.Tensor]:
    graph = onnx.load(str(bundle / "model.onnx")).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    state = {k: v.clone() for k, v in student.state_dict().items()}
    for name in state:
        if name in inits:
            state[name] = torch.from_numpy(inits[name].copy())
        elif f"{name}_quantized" in inits and name.endswith("embeddings.weight"):
            state[name] = torch.from_numpy(_dequantize(inits, name))
    linears = [
        f"electra.encoder.layer.{i}.{part}"
        for i in range(student.config.num_hidden_layers)
        for part in LAYER_LINEARS
    ] + ["qa_outputs", "nli_head.dense", "nli_head.out_proj"]
    stems = _matmul_stems(graph)
    if len(stems) != len(linears):
        raise SystemExit(f"{len(stems)} quantized MatMuls, expected {len(linears)}")
    for module, stem in zip(linears, stems):
        # The graph multiplies x @ W^T; nn.Linear stores W.
        state[f"{module}.weight"] = torch.from_numpy(_dequantize(inits, stem).T.copy())
    return state


def main(bundle: Path, out: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    provenance = manifest["provenance"]
    tmp_yaml = out.with_suffix(".yaml")
    tmp_yaml.parent.mkdir(parents=True, exist_ok=True)
    import yaml

    tmp_yaml.write_text(yaml.safe_dump(provenance["train_config"]))
    config: TrainConfig = load_config(tmp_yaml)
    tmp_yaml.unlink()
    student = load_student(config.init)
    student.load_state_dict(recovered_state(bundle, student))
    save_checkpoint(out, student.eval(), load_tokenizer(config.init), config)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
