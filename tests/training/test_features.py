"""Training features (QA/NLI targets) and the deterministic task sampler."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from road.core.data import read_classification, read_squad
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder
from road.core.tasks import NLI
from road.training.features import (
    TaskSampler,
    classification_features,
    qa_features,
    spread,
    task_weights,
)
from road.training.init import minilm_dir


def make_sampler(seed: int = 13, steps: int = 400) -> TaskSampler:
    return TaskSampler(
        {"qa": 10, "nli": 7}, {"qa": 3, "nli": 2}, {"qa": 3.0, "nli": 1.0}, seed, steps
    )


def test_sampler_is_a_pure_function_of_seed_and_step() -> None:
    a, b = make_sampler(), make_sampler()
    forward = [a.indices_at(step) for step in range(400)]
    backward = [b.indices_at(step) for step in reversed(range(400))][::-1]
    assert forward == backward
    # A fresh sampler asked for a late step first (as after resuming) agrees too.
    assert make_sampler().indices_at(321) == forward[321]
    assert [make_sampler(seed=14).indices_at(s) for s in range(400)] != forward


def test_sampler_follows_the_weights() -> None:
    sampler = make_sampler(steps=4000)
    counts = Counter(sampler.indices_at(step)[0] for step in range(4000))
    assert counts["qa"] / 4000 == pytest.approx(0.75, abs=0.03)
    assert counts["qa"] + counts["nli"] == 4000


def test_each_task_cycles_through_a_permutation_per_epoch() -> None:
    sampler = make_sampler()
    streams: dict[str, list[int]] = {"qa": [], "nli": []}
    for step in range(400):
        task, indices = sampler.indices_at(step)
        assert len(indices) == {"qa": 3, "nli": 2}[task]
        streams[task].extend(indices)
    for task, size in (("qa", 10), ("nli", 7)):
        stream = streams[task]
        epochs = [stream[k : k + size] for k in range(0, len(stream) - size + 1, size)]
        assert len(epochs) >= 5
        for epoch in epochs:
            assert sorted(epoch) == list(range(size))  # every row once, no repeats
        assert len({tuple(e) for e in epochs}) > 1  # reshuffled between epochs


def test_task_weights() -> None:
    sizes = {"qa": 100, "nli": 400}
    assert task_weights(sizes, 1.0, {}) == {"qa": 100.0, "nli": 400.0}
    assert task_weights(sizes, 0.0, {}) == {"qa": 1.0, "nli": 1.0}
    assert task_weights(sizes, 0.5, {}) == {"qa": 10.0, "nli": 20.0}
    assert task_weights(sizes, 1.0, {"qa": 0.3, "nli": 0.7}) == {"qa": 0.3, "nli": 0.7}


@pytest.fixture(scope="module")
def qa_encoder() -> QAEncoder:
    return QAEncoder.from_file(minilm_dir(), max_seq_len=32, doc_stride=8, max_question_tokens=12)


def test_qa_targets_point_at_the_answer_tokens(
    tiny_data: dict[str, Path], qa_encoder: QAEncoder
) -> None:
    examples = read_squad(tiny_data["squad"])
    features = qa_features(examples, qa_encoder, negative_fraction=0.0, seed=0)
    windows = qa_encoder.encode([e.question for e in examples], [e.context for e in examples])
    owners = [ex for ex, ws in zip(examples, windows, strict=True) for _ in ws]
    assert len(features) == len(owners) > len(examples)  # some contexts need several windows
    found: Counter[str] = Counter()
    for row, (start, end), ex in zip(features.rows, features.targets.tolist(), owners, strict=True):
        if (start, end) == (0, 0):
            # A null target only where the window does not hold the whole answer.
            begin = ex.answer_starts[0]
            context = row.offsets[row.context_mask()]
            assert begin < context[0, 0] or begin + len(ex.answers[0]) > context[-1, 1]
            continue
        assert row.token_type_ids[start] == 1 and row.token_type_ids[end] == 1
        assert ex.context[row.offsets[start, 0] : row.offsets[end, 1]] == ex.answers[0]
        found[ex.id] += 1
    assert set(found) == {e.id for e in examples}


def test_qa_negatives_point_at_cls(tiny_data: dict[str, Path], qa_encoder: QAEncoder) -> None:
    examples = read_squad(tiny_data["squad"])
    positives = qa_features(examples, qa_encoder, negative_fraction=0.0, seed=0)
    mixed = qa_features(examples, qa_encoder, negative_fraction=0.6, seed=0)
    n = len(positives)
    assert len(mixed) > n
    assert mixed.targets[:n].tolist() == positives.targets.tolist()
    assert mixed.targets[n:].tolist() == [[0, 0]] * (len(mixed) - n)


def test_qa_features_skip_over_long_questions(tiny_data: dict[str, Path]) -> None:
    examples = read_squad(tiny_data["squad"])
    # "What ink did the press use?" is 7 tokens and "Who introduced printing to Europe?" 6.
    encoder = QAEncoder.from_file(minilm_dir(), max_seq_len=32, doc_stride=8, max_question_tokens=6)
    kept = {tuple(r.input_ids.tolist()) for r in qa_features(examples, encoder, 0.0, 0).rows}
    lengths = encoder.question_lengths([e.question for e in examples])
    assert 0 < sum(n > 6 for n in lengths) < len(examples)
    for ex, n in zip(examples, lengths, strict=True):
        rows = encoder.encode([ex.question], [ex.context])[0] if n <= 6 else []
        assert all(tuple(r.input_ids.tolist()) in kept for r in rows)
    assert len(kept) == sum(
        len(encoder.encode([e.question], [e.context])[0])
        for e, n in zip(examples, lengths, strict=True)
        if n <= 6
    )


def test_nli_features_and_batch(tiny_data: dict[str, Path]) -> None:
    examples = read_classification(tiny_data["nli"], NLI.fields, NLI.labels)
    encoder = NLIEncoder.from_file(minilm_dir(), 12)
    features = classification_features(examples, encoder, NLI.labels, NLI.name)
    assert features.targets.tolist() == [0, 2, 1, 0, 2, 1]
    assert max(len(r) for r in features.rows) == 12  # over-long pairs truncated, not refused
    batch = features.batch([1, 4])
    assert batch["targets"].tolist() == [2, 2]
    assert (
        batch["input_ids"].shape == batch["attention_mask"].shape == batch["token_type_ids"].shape
    )
    assert batch["input_ids"].shape[0] == 2
    lengths = [len(features.rows[1]), len(features.rows[4])]
    assert batch["attention_mask"].sum(dim=1).tolist() == lengths
    assert batch["input_ids"].shape[1] == max(lengths)


def test_spread_takes_evenly_spaced_items() -> None:
    items = list(range(10))
    assert spread(items, None) == items and spread(items, 20) == items
    assert spread(items, 4) == [0, 3, 6, 9]
    assert spread(items, 1) == [0]
