from __future__ import annotations

from pathlib import Path

import torch

from bench.naive_server import convert
from road.training.model import RoadStudent


def test_converted_models_reproduce_the_students_heads_exactly(tiny_init: Path) -> None:
    student = RoadStudent.from_pretrained(tiny_init).eval()
    qa, nli = convert(tiny_init)
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1000, 2000, (3, 24), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[2, 15:] = 0
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, 10:] = 1
    inputs = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }
    with torch.no_grad():
        start, end, nli_logits = student(**inputs)
        qa_out, nli_out = qa(**inputs), nli(**inputs)
    torch.testing.assert_close(qa_out.start_logits, start, rtol=0, atol=1e-6)
    torch.testing.assert_close(qa_out.end_logits, end, rtol=0, atol=1e-6)
    torch.testing.assert_close(nli_out.logits, nli_logits, rtol=0, atol=1e-6)
    assert nli.config.id2label == dict(enumerate(student.tasks["nli"].labels))
