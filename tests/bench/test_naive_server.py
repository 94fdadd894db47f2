from __future__ import annotations

import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from bench.naive_server import convert
from road.training.model import RoadStudent


def _inputs() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1000, 2000, (3, 24), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[2, 15:] = 0
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, 10:] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }


def test_converted_models_reproduce_the_students_heads_exactly(tiny_init: Path) -> None:
    student = RoadStudent.from_pretrained(tiny_init).eval()
    qa, nli = convert(tiny_init)
    inputs = _inputs()
    with torch.no_grad():
        start, end, nli_logits = student(**inputs)
        qa_out, nli_out = qa(**inputs), nli(**inputs)
    torch.testing.assert_close(qa_out.start_logits, start, rtol=0, atol=1e-6)
    torch.testing.assert_close(qa_out.end_logits, end, rtol=0, atol=1e-6)
    torch.testing.assert_close(nli_out.logits, nli_logits, rtol=0, atol=1e-6)
    assert nli.config.id2label == dict(enumerate(student.tasks["nli"].labels))


def test_two_single_task_checkpoints_give_one_model_each(tiny_init: Path, tmp_path: Path) -> None:
    # A second "teacher": the same layout, other weights, stored in fp16 like compact checkpoints.
    other = tmp_path / "nli-teacher"
    shutil.copytree(tiny_init, other)
    state = load_file(str(other / "model.safetensors"))
    generator = torch.Generator().manual_seed(1)
    state = {k: (v + 0.05 * torch.randn(v.shape, generator=generator)).half()
             for k, v in state.items()}  # fmt: skip
    save_file(state, str(other / "model.safetensors"))
    qa, nli = convert(tiny_init, other)
    inputs = _inputs()
    with torch.no_grad():
        start, _, _ = RoadStudent.from_pretrained(tiny_init).eval()(**inputs)
        _, _, nli_logits = RoadStudent.from_pretrained(other).float().eval()(**inputs)
        qa_out, nli_out = qa(**inputs), nli(**inputs)
    assert next(nli.parameters()).dtype == torch.float32
    torch.testing.assert_close(qa_out.start_logits, start, rtol=0, atol=1e-6)
    torch.testing.assert_close(nli_out.logits, nli_logits, rtol=0, atol=1e-5)
    with torch.no_grad():  # and /nli really answers from the other checkpoint
        assert not torch.allclose(nli_out.logits, convert(tiny_init)[1](**inputs).logits)
