"""Long NLI premises through the engine: windows across batches, evidence, truncation modes."""

from __future__ import annotations

import asyncio

import pytest

from road.core.errors import InputTooLong
from road.runtime.protocol import NLIRequest, NLIResponse

from .fakes import EvidenceSession, FakeRuntime
from .test_engine import make_engine, with_engine

FILLER = "The committee met on a rainy Tuesday and discussed the budget at length. "
SUPPORT = "In the last paragraph a zebra crossed the road."
HYPOTHESIS = "An animal crossed the road."


def evidence_runtime() -> FakeRuntime:
    probe = FakeRuntime.create(EvidenceSession(0))
    keyword = probe.nli_encoder.tokenizer.token_to_id("zebra")
    assert keyword is not None
    return FakeRuntime.create(EvidenceSession(keyword))


def classify(runtime: FakeRuntime, requests: list[NLIRequest], **settings: float) -> list:
    engine = make_engine(runtime, max_wait_ms=1, **settings)
    return asyncio.run(with_engine(engine, lambda e: e.classify(requests)))


@pytest.mark.parametrize("at", [0, 15, 30], ids=["start", "middle", "end"])
def test_a_long_premise_is_decided_by_its_supporting_window(at: int) -> None:
    runtime = evidence_runtime()
    premise = FILLER * at + SUPPORT + " " + FILLER * (30 - at)
    (answer,) = classify(runtime, [NLIRequest(premise=premise, hypothesis=HYPOTHESIS)])
    assert isinstance(answer, NLIResponse) and answer.label == "entailment"
    assert answer.evidence is not None and answer.truncated is None
    begin = premise.index(SUPPORT)
    assert answer.evidence.start <= begin and begin + len(SUPPORT) <= answer.evidence.end
    assert answer.evidence.text == premise[answer.evidence.start : answer.evidence.end]


def test_windows_of_one_request_span_batches_and_give_the_same_answer() -> None:
    runtime = evidence_runtime()
    premise = FILLER * 30 + SUPPORT
    request = NLIRequest(premise=premise, hypothesis=HYPOTHESIS)
    (split,) = classify(runtime, [request], max_batch_size=2)
    assert len(runtime.session.batches) > 2 and max(s[0] for s in runtime.session.batches) == 2
    runtime.session.batches.clear()
    (whole,) = classify(runtime, [request], max_batch_size=64, max_batch_tokens=16384)
    assert len(runtime.session.batches) == 1
    assert split == whole and split.label == "entailment"


def test_no_supporting_window_is_neutral() -> None:
    runtime = evidence_runtime()
    request = NLIRequest(premise=FILLER * 30, hypothesis=HYPOTHESIS)
    (answer,) = classify(runtime, [request])
    assert answer.label == "neutral" and answer.evidence is not None
    assert runtime.session.rows_run > 1


def test_a_short_pair_has_no_evidence_and_runs_one_row() -> None:
    runtime = evidence_runtime()
    (answer,) = classify(runtime, [NLIRequest(premise=SUPPORT, hypothesis=HYPOTHESIS)])
    assert answer.label == "entailment" and answer.evidence is None and answer.truncated is None
    assert runtime.session.rows_run == 1


def test_longest_first_truncates_and_says_so_and_none_refuses() -> None:
    runtime = evidence_runtime()
    premise = FILLER * 30 + SUPPORT
    cut = NLIRequest(premise=premise, hypothesis=HYPOTHESIS, truncation="longest_first")
    (answer,) = classify(runtime, [cut])
    # The supporting sentence is at the end, cut away: the one row left holds no keyword.
    assert (answer.label, answer.truncated, answer.evidence) == ("neutral", True, None)
    assert runtime.session.rows_run == 1
    refuse = NLIRequest(premise=premise, hypothesis=HYPOTHESIS, truncation="none")
    with pytest.raises(InputTooLong) as caught:
        classify(runtime, [refuse])
    assert caught.value.field == "premise+hypothesis" and caught.value.limit == 128


def test_the_windows_limit_names_itself() -> None:
    runtime = evidence_runtime()
    request = NLIRequest(premise=FILLER * 30, hypothesis=HYPOTHESIS)
    with pytest.raises(InputTooLong) as caught:
        classify(runtime, [request], max_nli_windows=2)
    assert (caught.value.field, caught.value.limit, caught.value.unit) == (
        "premise+hypothesis",
        2,
        "windows",
    )


def test_short_and_long_pairs_in_one_call_each_get_their_own_answer() -> None:
    runtime = evidence_runtime()
    long_premise = FILLER * 20 + SUPPORT + " " + FILLER * 10
    requests = [
        NLIRequest(premise=FILLER, hypothesis=HYPOTHESIS),
        NLIRequest(premise=long_premise, hypothesis=HYPOTHESIS),
        NLIRequest(premise=SUPPORT, hypothesis=HYPOTHESIS),
    ]
    answers = classify(runtime, requests)
    assert [a.label for a in answers] == ["neutral", "entailment", "entailment"]
    assert [a.evidence is None for a in answers] == [True, False, True]


def test_min_score_abstains_per_request_in_one_batch() -> None:
    runtime = evidence_runtime()
    long_premise = FILLER * 20 + SUPPORT + " " + FILLER * 10
    pairs = [(FILLER, None), (long_premise, None), (long_premise, 0.99), (SUPPORT, 0.5)]
    requests = [NLIRequest(premise=p, hypothesis=HYPOTHESIS, min_score=m) for p, m in pairs]
    answers = classify(runtime, requests)
    # Entailment windows score softmax([4, 1, 0] / T)[0], 0.93 at the shipped T: in (0.5, 0.99).
    assert [a.label for a in answers] == ["neutral", "entailment", None, "entailment"]
    assert [a.abstained for a in answers] == [None, None, True, None]
    assert answers[2].scores == answers[1].scores and answers[2].evidence == answers[1].evidence
