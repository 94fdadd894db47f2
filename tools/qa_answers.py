"""Real QA answers to look at: a compact checkpoint on 10 random dev questions, the distractor
example from the teachers issue and an unanswerable pair, at the checkpoint's dev null threshold.

    python tools/qa_answers.py checkpoints/teacher-qa
"""

import json
import random
import sys
from pathlib import Path

import torch

from road.core.data import read_squad
from road.core.qa import QAEncoder
from road.core.qa_decode import decode_answers
from road.core.rows import pad_rows
from road.training.config import load_config
from road.training.evaluate import torch_runner
from road.training.model import RoadStudent

ckpt = Path(sys.argv[1])
torch.set_num_threads(2)
config = load_config(ckpt / "train_config.yaml") if (ckpt / "train_config.yaml").exists() else None
metrics = json.loads((ckpt / "dev_metrics.json").read_text())
threshold = metrics["qa"]["null_threshold"]
task = [t for t in config.task_defs if t.name == "qa"][0]
encoder = QAEncoder.from_window(ckpt, task.window)
run = torch_runner(RoadStudent.from_pretrained(ckpt).eval())
dev = read_squad("../shared/data/qa/squadshifts-dev.json.gz")
random.seed(7)
cases = [(e.question, e.context, e.answers[0]) for e in random.sample(dev, 10)]
fox = (
    "The quick brown fox jumps over the lazy dog near the river bank. The weather was mild "
    "that spring. Many birds nested in the old oak tree. The capital of France is Paris."
)
cases.append(("What is the capital of France?", fox, "Paris"))
cases.append(("Who wrote the novel?", dev[0].context, "(no answer expected)"))
for q, c, gold in cases:
    windows = encoder.encode([q], [c])[0]
    outs = [run(pad_rows([w])) for w in windows]
    d = decode_answers(
        windows,
        [o["start_logits"][0] for o in outs],
        [o["end_logits"][0] for o in outs],
        c,
        max_answer_len=30,
        allow_no_answer=False,
    )
    margin = d.null_logit - d.best_span_logit
    pred = "" if margin > threshold else (d.answers[0].text if d.answers else "")
    print(
        json.dumps(
            {"q": q, "gold": gold, "pred": pred or "<no answer>", "margin": round(float(margin), 2)}
        )
    )
