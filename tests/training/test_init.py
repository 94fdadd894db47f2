"""MiniLM (BERT) weights mapped onto the ELECTRA student, and layer selection."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertModel

from road.training.init import bert_to_electra_state_dict, load_student, minilm_dir
from road.training.model import RoadStudent, keep_layers


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
    return dict(
        tokenizer(
            ["Which rivers meet at Lyon?", "Who founded it?"],
            [
                "Lyon lies at the confluence of the Rhône and Saône.",
                "The Romans founded Lyon in 43 BC.",
            ],
            padding=True,
            return_tensors="pt",
        )
    )


@pytest.fixture(scope="module")
def student() -> RoadStudent:
    return load_student("minilm").eval()


def test_minilm_electra_matches_bert_exactly(
    student: RoadStudent, batch: dict[str, torch.Tensor]
) -> None:
    bert = BertModel.from_pretrained(str(minilm_dir())).eval()
    assert (
        batch["token_type_ids"].max() == 1 and batch["attention_mask"].min() == 0
    )  # pairs, padded
    with torch.inference_mode():
        expected = bert(**batch).last_hidden_state
        actual = student.electra(**batch).last_hidden_state
    assert actual.shape == (2, batch["input_ids"].shape[1], 384)
    assert torch.equal(actual, expected), (actual - expected).abs().max()
    assert student.config.num_hidden_layers == 6


def test_student_heads_produce_logits(student: RoadStudent, batch: dict[str, torch.Tensor]) -> None:
    with torch.inference_mode():
        start, end, nli = student(**batch)
    length = batch["input_ids"].shape[1]
    assert start.shape == end.shape == (2, length)
    assert nli.shape == (2, 3)
    assert student.tasks["nli"].labels == ("entailment", "neutral", "contradiction")


def test_keep_layers_keeps_the_chosen_layers(
    student: RoadStudent, batch: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    model = copy.deepcopy(student)
    original = [
        {k: v.clone() for k, v in layer.state_dict().items()}
        for layer in model.electra.encoder.layer
    ]
    embeddings = {k: v.clone() for k, v in model.electra.embeddings.state_dict().items()}
    kept = keep_layers(model, [0, 2, 5])
    assert kept.config.num_hidden_layers == 3
    assert len(kept.electra.encoder.layer) == 3
    for layer, index in zip(kept.electra.encoder.layer, [0, 2, 5], strict=True):
        state = layer.state_dict()
        assert state.keys() == original[index].keys()
        assert all(torch.equal(state[k], original[index][k]) for k in state)
    assert not torch.equal(
        kept.electra.encoder.layer[1].attention.self.query.weight,
        original[1]["attention.self.query.weight"],
    )
    assert all(
        torch.equal(v, embeddings[k]) for k, v in kept.electra.embeddings.state_dict().items()
    )
    with torch.inference_mode():
        before = kept(**batch)
    # The smaller student saves and reloads as a 3-layer model with the same outputs.
    kept.save_pretrained(tmp_path)
    reloaded = RoadStudent.from_pretrained(tmp_path).eval()
    assert reloaded.config.num_hidden_layers == 3
    with torch.inference_mode():
        after = reloaded(**batch)
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize("indices", [[], [6], [-1], [0, 7]])
def test_keep_layers_rejects_bad_indices(student: RoadStudent, indices: list[int]) -> None:
    with pytest.raises(ValueError, match="outside 0..5"):
        keep_layers(student, indices)


def test_bert_to_electra_state_dict_drops_the_pooler() -> None:
    t = torch.zeros(1)
    mapped = bert_to_electra_state_dict(
        {
            "bert.embeddings.word_embeddings.weight": t,
            "encoder.layer.0.output.dense.weight": t,
            "bert.pooler.dense.weight": t,
            "pooler.dense.bias": t,
            "embeddings.position_ids": t,
        }
    )
    assert sorted(mapped) == [
        "embeddings.word_embeddings.weight",
        "encoder.layer.0.output.dense.weight",
    ]
