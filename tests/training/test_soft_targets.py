"""The soft-target cache: exact round trip, reuse, invalidation; teachers of any origin."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import (
    AutoTokenizer,
    ElectraConfig,
    ElectraForQuestionAnswering,
    ElectraForSequenceClassification,
)

from road.core.data import read_classification, read_squad
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder
from road.core.rows import pad_rows
from road.core.tasks import NLI
from road.training.config import load_config
from road.training.distill import preprocessing
from road.training.features import TaskFeatures, classification_features, qa_features
from road.training.soft_targets import META, build_soft_targets
from road.training.teachers import (
    Teacher,
    TeacherOutput,
    check_same_tokenizer,
    label_order_of,
    load_teacher,
    tokenizer_fingerprint,
)


class CountingTeacher(Teacher):
    """A real teacher that counts the rows it is asked to score."""

    rows_seen: int = 0

    def __call__(
        self, inputs: dict[str, torch.Tensor], hidden_layer: int | None = None
    ) -> TeacherOutput:
        self.rows_seen += int(inputs["input_ids"].shape[0])
        return super().__call__(inputs, hidden_layer)


def qa_rows(tiny_data: dict[str, Path], tiny_init: Path, doc_stride: int = 8) -> TaskFeatures:
    encoder = QAEncoder.from_file(tiny_init, 32, doc_stride, 16)
    return qa_features(read_squad(tiny_data["squad"]), encoder, 0.5, 13)


def teacher(tiny_init: Path, task: str) -> CountingTeacher:
    loaded = load_teacher(str(tiny_init), task)
    return CountingTeacher(loaded.source, loaded.spec, loaded.model, loaded.tokenizer)


def direct_logits(t: Teacher, features: TaskFeatures, index: int) -> list[np.ndarray]:
    batch = {k: torch.from_numpy(v) for k, v in pad_rows([features.rows[index]]).items()}
    return [x[0].numpy() for x in t(batch).logits]


def test_qa_cache_round_trips_exactly_over_shards(
    tiny_data: dict[str, Path], tiny_init: Path, tmp_path: Path
) -> None:
    features = qa_rows(tiny_data, tiny_init)
    assert len(features) >= 8 and len(set(features.ids)) == len(features)
    t = teacher(tiny_init, "qa")
    cache = build_soft_targets(t, features, {"w": 1}, tmp_path, batch_size=3, shard_rows=4)
    assert t.rows_seen == len(features)
    assert len(list(cache.path.glob("start-*.npy"))) == -(-len(features) // 4)
    start, end = cache.batch(range(len(features)))
    for i, row in enumerate(features.rows):
        n = len(row)
        # Exact: the values read back are the bits the teacher wrote (length-sorted batches).
        stored = np.load(cache.path / f"start-{cache.row_of[i] // 4:05d}.npy")
        assert np.array_equal(start[i, :n].numpy(), stored[cache.row_of[i] % 4, :n])
        assert not start[i, n:].any() and not end[i, n:].any()
        ref_start, ref_end = direct_logits(t, features, i)
        assert np.allclose(start[i, :n].numpy(), ref_start, atol=1e-5)
        assert np.allclose(end[i, :n].numpy(), ref_end, atol=1e-5)
    # A batch is cut to its padded width, rows in the order asked for.
    picked = cache.batch([5, 0], width=20)
    assert picked[0].shape == (2, 20)
    assert torch.equal(picked[0][1], start[0, :20])

    again = teacher(tiny_init, "qa")
    reopened = build_soft_targets(again, features, {"w": 1}, tmp_path, batch_size=3, shard_rows=4)
    assert again.rows_seen == 0 and reopened.path == cache.path  # reused, not recomputed
    assert all(
        torch.equal(a, b) for a, b in zip(reopened.batch(range(len(features))), [start, end])
    )


def test_bf16_teacher_logits_are_their_own_cache_and_close_to_fp32(
    tiny_data: dict[str, Path], tiny_init: Path, tmp_path: Path
) -> None:
    features = qa_rows(tiny_data, tiny_init)
    fp32 = build_soft_targets(teacher(tiny_init, "qa"), features, {}, tmp_path, shard_rows=4)
    t = teacher(tiny_init, "qa")
    bf16 = build_soft_targets(t, features, {}, tmp_path, shard_rows=4, bf16=True)
    assert bf16.path != fp32.path and t.rows_seen == len(features)
    assert json.loads((bf16.path / META).read_text())["teacher_precision"] == "bf16"
    rows = list(range(len(features)))
    for low, full in zip(bf16.batch(rows), fp32.batch(rows)):
        assert low.dtype == torch.float32
        assert not torch.equal(low, full)  # computed in bf16, not copied from the fp32 cache
        torch.testing.assert_close(low, full, atol=0.1, rtol=0.05)


def test_cache_lookup_is_by_feature_id(
    tiny_data: dict[str, Path], tiny_init: Path, tmp_path: Path
) -> None:
    features = qa_rows(tiny_data, tiny_init)
    cache = build_soft_targets(teacher(tiny_init, "qa"), features, {}, tmp_path, shard_rows=4)
    ids = json.loads((cache.path / "ids.json").read_text())
    assert ids == features.ids
    assert [ids[int(r)] for r in cache.row_of] == features.ids


def test_cache_is_invalidated_by_window_tokenizer_or_teacher(
    tiny_data: dict[str, Path], tiny_init: Path, tmp_path: Path
) -> None:
    features = qa_rows(tiny_data, tiny_init)
    config = load_config(None, ["output_dir=x", "steps=1", "qa.train=a", "qa.dev=b"])
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_init))
    pre = preprocessing(config, "qa", tokenizer)
    base = build_soft_targets(teacher(tiny_init, "qa"), features, pre, tmp_path).path

    stride = load_config(
        None, ["output_dir=x", "steps=1", "qa.train=a", "qa.dev=b", "qa.doc_stride=8"]
    )
    changed_pre = preprocessing(stride, "qa", tokenizer)
    assert changed_pre != pre
    t = teacher(tiny_init, "qa")
    assert build_soft_targets(t, features, changed_pre, tmp_path).path != base
    assert t.rows_seen == len(features)

    # Other windows (a smaller stride) change the rows themselves, whatever the settings say.
    other_rows = qa_rows(tiny_data, tiny_init, doc_stride=4)
    assert build_soft_targets(teacher(tiny_init, "qa"), other_rows, pre, tmp_path).path != base

    lowercase_off = AutoTokenizer.from_pretrained(str(tiny_init), do_lower_case=False)
    if tokenizer_fingerprint(lowercase_off) == tokenizer_fingerprint(tokenizer):
        lowercase_off.add_tokens(["road-distillation-token"])
    assert tokenizer_fingerprint(lowercase_off) != tokenizer_fingerprint(tokenizer)
    tok_pre = preprocessing(config, "qa", lowercase_off)
    assert build_soft_targets(teacher(tiny_init, "qa"), features, tok_pre, tmp_path).path != base

    retrained = teacher(tiny_init, "qa")
    with torch.no_grad():
        retrained.model.qa_outputs.bias.add_(1e-3)
    assert build_soft_targets(retrained, features, pre, tmp_path).path != base
    assert len(list(tmp_path.iterdir())) == 5


def test_interrupted_cache_resumes_missing_shards(
    tiny_data: dict[str, Path], tiny_init: Path, tmp_path: Path
) -> None:
    features = qa_rows(tiny_data, tiny_init)
    first = build_soft_targets(teacher(tiny_init, "qa"), features, {}, tmp_path, shard_rows=4)
    (first.path / META).unlink()
    (first.path / "end-00001.npy").unlink()
    t = teacher(tiny_init, "qa")
    build_soft_targets(t, features, {}, tmp_path, shard_rows=4)
    assert t.rows_seen == 4  # only the shard that was lost


def test_nli_cache_holds_class_logits(
    tiny_data: dict[str, Path], tiny_init: Path, tmp_path: Path
) -> None:
    examples = read_classification(tiny_data["nli"], NLI.fields, NLI.labels)
    encoder = NLIEncoder.from_file(tiny_init, 48)
    features = classification_features(examples, encoder, NLI.labels, NLI.name)
    t = teacher(tiny_init, "nli")
    (logits,) = build_soft_targets(t, features, {}, tmp_path).batch(range(len(features)))
    assert logits.shape == (6, 3)
    for i in range(len(features)):
        assert np.allclose(logits[i].numpy(), direct_logits(t, features, i)[0], atol=1e-5)


def test_foreign_hf_teachers(tiny_init: Path, tmp_path: Path) -> None:
    config = ElectraConfig(
        vocab_size=30522, embedding_size=16, hidden_size=16, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=32,
        id2label={0: "CONTRADICTION", 1: "entailment", 2: "Neutral"},
    )  # fmt: skip
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_init))
    ElectraForSequenceClassification(config).save_pretrained(tmp_path / "nli")
    config.id2label = {0: "start", 1: "end"}  # a span head has two outputs
    ElectraForQuestionAnswering(config).save_pretrained(tmp_path / "qa")
    for name in ("nli", "qa"):
        tokenizer.save_pretrained(tmp_path / name)
    batch = {k: torch.from_numpy(v) for k, v in pad_rows(pair_rows(tiny_init)).items()}

    nli = load_teacher(str(tmp_path / "nli"), "nli")
    assert nli.label_order == [1, 2, 0]  # road's order: entailment, neutral, contradiction
    raw = nli.model(**batch).logits
    out = nli(batch, hidden_layer=-1)
    assert torch.equal(out.logits[0], raw[:, [1, 2, 0]])
    assert out.hidden is not None and out.hidden.shape[-1] == 16
    check_same_tokenizer(nli, tokenizer)

    qa = load_teacher(str(tmp_path / "qa"), "qa")
    start, end = qa(batch).logits
    assert start.shape == end.shape == batch["input_ids"].shape
    assert qa.fingerprint() != load_teacher(str(tmp_path / "nli"), "qa").fingerprint()


def pair_rows(tiny_init: Path) -> list:
    encoder = NLIEncoder.from_file(tiny_init, 48)
    return encoder.encode(["A cat sat on the mat."], ["A cat sat."])


def test_label_order_needs_road_labels() -> None:
    with pytest.raises(ValueError, match="lack the task's labels"):
        label_order_of({0: "yes", 1: "no"}, NLI.labels)


def test_teacher_with_another_tokenizer_is_refused(tiny_init: Path) -> None:
    t = load_teacher(str(tiny_init), "qa")
    other = AutoTokenizer.from_pretrained(str(tiny_init))
    other.add_tokens(["zzz-unknown-token"])
    with pytest.raises(ValueError, match="tokenizes differently"):
        check_same_tokenizer(t, other)
