"""Compare a recovered checkpoint with the INT8 bundle it came from, on real VitaminC dev pairs.

Prints max |Δ| of NLI and start logits and the NLI label agreement, then the same with each
layer's query and key weights swapped: a much larger Δ there confirms the weight mapping.

    python tools/verify_recovered_student.py road/default_bundle checkpoints/default-student
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from road.core.data import read_nli
from road.core.nli import NLIEncoder
from road.core.rows import pad_rows
from road.training.model import RoadStudent

DEV = Path("../shared/data/nli/vitaminc-dev.jsonl.gz")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _torch_outputs(model: RoadStudent, batch: dict[str, np.ndarray]) -> list[np.ndarray]:
    with torch.no_grad():
        return [t.numpy() for t in model(*(torch.from_numpy(batch[k]) for k in INPUTS))]


def _report(label: str, ours: list[np.ndarray], ref: list[np.ndarray], mask: np.ndarray) -> None:
    nli = np.abs(ours[2] - ref[2]).max()
    start = np.abs(ours[0] - ref[0])[mask].max()
    agree = (ours[2].argmax(1) == ref[2].argmax(1)).mean()
    print(f"{label}: max|Δ| nli {nli:.3f}, start {start:.3f}; NLI labels agree {agree:.1%}")


def main(bundle: Path, checkpoint: Path, pairs: int = 64) -> None:
    examples = read_nli(DEV)[:pairs]
    encoder = NLIEncoder.from_file(bundle, 128)
    rows = encoder.encode(
        [e.premise for e in examples], [e.hypothesis for e in examples], truncate=True
    )
    batch = pad_rows(rows)
    session = ort.InferenceSession(str(bundle / "model.onnx"), providers=["CPUExecutionProvider"])
    ref = session.run(["start_logits", "end_logits", "nli_logits"], batch)
    mask = batch["attention_mask"].astype(bool)
    model = RoadStudent.from_pretrained(checkpoint).eval()
    _report("recovered", _torch_outputs(model, batch), ref, mask)
    state = model.state_dict()
    for layer in range(model.config.num_hidden_layers):
        prefix = f"electra.encoder.layer.{layer}.attention.self."
        query, key = state[prefix + "query.weight"].clone(), state[prefix + "key.weight"].clone()
        state[prefix + "query.weight"], state[prefix + "key.weight"] = key, query
    model.load_state_dict(state)
    _report("query/key swapped", _torch_outputs(model, batch), ref, mask)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
