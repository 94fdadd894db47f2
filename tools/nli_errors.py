"""Where a student errs on VitaminC dev: contradiction read as entailment, digits, neutral.

python tools/nli_errors.py checkpoints/student-default
"""

import re
import sys
from pathlib import Path

import numpy as np
import torch

from road.core.classification import TextEncoder
from road.core.data import ClassificationExample, read_classification
from road.core.evaluation import run_rows
from road.training.config import load_config
from road.training.evaluate import torch_runner
from road.training.model import RoadStudent


def has_digit(example: ClassificationExample) -> bool:
    return bool(re.search(r"\d", example.texts[1]))


ckpt = Path(sys.argv[1])
torch.set_num_threads(1)
task = load_config(ckpt / "train_config.yaml").tasks()["nli"]
encoder = TextEncoder.from_file(ckpt, task.max_seq_len, task.fields)
data = read_classification(task.dev, task.fields, task.labels)
rows = encoder.encode_texts([e.texts for e in data], truncate=True)
run = torch_runner(RoadStudent.from_pretrained(ckpt).eval())
logits = np.zeros((len(rows), len(task.labels)), np.float32)
for i, out in run_rows(run, rows, 64, ()):
    logits[i] = out[task.outputs[0]]
pred = [task.labels[k] for k in logits.argmax(1)]
contra = [e for e in data if e.label == "contradiction"]
c2e = [e for e, p in zip(data, pred) if e.label == "contradiction" and p == "entailment"]
share = 100 * len(c2e) / len(contra)
print(f"contradiction -> entailment: {len(c2e)} of {len(contra)} ({share:.1f}%)")
print(
    f"claims with a digit: {100 * sum(map(has_digit, c2e)) / len(c2e):.1f}% of those errors, "
    f"{100 * sum(map(has_digit, contra)) / len(contra):.1f}% of all contradictions"
)
neutral = [e for e in data if e.label == "neutral"]
missed = sum(1 for e, p in zip(data, pred) if e.label == "neutral" and p != "neutral")
print(f"neutral missed: {missed} of {len(neutral)}")
for e in c2e[:4]:
    print(" C->E:", e.texts[1][:120], "|", e.texts[0][:160])
