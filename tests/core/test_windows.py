"""Long text pairs: windows over the first text (real tokenizer) and the aggregation rule."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer

from road.core.errors import InputTooLong
from road.core.tasks import NLI
from road.core.tokenizer import load_tokenizer
from road.core.windows import PairWindower, aggregate, sentence_starts, window_spans
from road.runtime.settings import default_bundle

FILLER = [
    f"The committee met on day {i} and talked about the budget of the town hall at length."
    for i in range(40)
]
SUPPORT = "The bridge over the river Saône was opened to traffic in 1831."
HYPOTHESIS = "The bridge opened in 1831."
LABELS = NLI.labels  # entailment, neutral, contradiction
ENT, NEU, CON = [10.0, 0, 0], [0, 10.0, 0], [0, 0, 10.0]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return load_tokenizer(default_bundle())


@pytest.fixture(scope="module")
def windower(tokenizer: Tokenizer) -> PairWindower:
    return PairWindower(tokenizer, 128, ("premise", "hypothesis"))


def premise_with_support(at: int) -> str:
    return " ".join([*FILLER[:at], SUPPORT, *FILLER[at:]])


@pytest.mark.parametrize("at", [0, 20, 40], ids=["start", "middle", "end"])
def test_the_supporting_sentence_lies_whole_in_a_window(windower: PairWindower, at: int) -> None:
    premise = premise_with_support(at)
    windows = windower.windows(premise, HYPOTHESIS, max_windows=64)
    assert len(windows) > 3
    begin = premise.index(SUPPORT)
    holding = [w for w in windows if w.start <= begin and begin + len(SUPPORT) <= w.end]
    assert holding, [(w.start, w.end) for w in windows]
    assert all(len(w) <= 128 for w in windows)
    assert windows[0].start == 0 and windows[-1].end == len(premise)
    # Consecutive windows overlap, and each starts at a sentence.
    assert all(b.start < a.end for a, b in zip(windows, windows[1:]))
    assert {w.start for w in windows} <= set(sentence_starts(premise))


def test_a_window_is_its_text_encoded_as_a_pair(
    windower: PairWindower, tokenizer: Tokenizer
) -> None:
    premise = premise_with_support(20)
    for window in windower.windows(premise, HYPOTHESIS, max_windows=64):
        pair = tokenizer.encode(premise[window.start : window.end], HYPOTHESIS)
        assert window.input_ids.tolist() == pair.ids
        assert window.token_type_ids.tolist() == pair.type_ids


def test_a_sentence_longer_than_a_window_is_cut_inside() -> None:
    assert window_spans([0], 10, 4) == [(0, 4), (3, 7), (6, 10)]
    assert window_spans([0, 3, 5, 8], 10, 6) == [(0, 5), (3, 8), (5, 10)]
    # After a short sentence, one longer than a window: windows move on inside it.
    assert window_spans([0, 3], 20, 6) == [(0, 3), (2, 8), (7, 13), (12, 18), (17, 20)]


def test_limits_refuse_a_long_hypothesis_and_too_many_windows(windower: PairWindower) -> None:
    with pytest.raises(InputTooLong) as hypothesis:
        windower.windows(premise_with_support(0), "word " * 130, max_windows=64)
    assert (hypothesis.value.field, hypothesis.value.limit) == ("hypothesis", 128 - 3 - 8)
    with pytest.raises(InputTooLong) as windows:
        windower.windows(premise_with_support(0), HYPOTHESIS, max_windows=3)
    assert windows.value.field == "premise+hypothesis" and windows.value.unit == "windows"
    assert windows.value.limit == 3 and windows.value.actual > 3
    assert "windows, the limit is 3 windows" in str(windows.value)


@pytest.mark.parametrize("where", [0, 3, 6])
def test_an_entailing_window_beats_neutral_ones_wherever_it_is(where: int) -> None:
    logits = np.asarray([NEU] * 7, dtype=np.float32)
    logits[where] = [4.0, 1.0, 0.0]
    verdict = aggregate(logits, LABELS)
    assert (verdict.label, verdict.window) == ("entailment", where)
    assert verdict.scores["entailment"] == pytest.approx(np.exp(4) / (np.exp(4) + np.e + 1))


def test_a_contradicting_window_beats_neutral_elsewhere() -> None:
    logits = np.asarray([NEU, NEU, [0.0, 1.0, 3.0], NEU], dtype=np.float32)
    verdict = aggregate(logits, LABELS)
    assert (verdict.label, verdict.window) == ("contradiction", 2)


def test_the_strongest_decisive_window_decides() -> None:
    logits = np.asarray([[2.0, 0, 1.0], NEU, [0, 0, 6.0], [3.0, 0, 0]], dtype=np.float32)
    assert (aggregate(logits, LABELS).label, aggregate(logits, LABELS).window) == (
        "contradiction",
        2,
    )


def test_no_relevant_window_is_neutral_from_the_most_neutral_window() -> None:
    logits = np.asarray([[1.0, 2.0, 0], [0, 5.0, 1.0], [0, 3.0, 0]], dtype=np.float32)
    verdict = aggregate(logits, LABELS)
    assert (verdict.label, verdict.window) == ("neutral", 1)
    assert sum(verdict.scores.values()) == pytest.approx(1.0)


def test_without_a_neutral_label_the_strongest_window_decides() -> None:
    logits = np.asarray([[1.0, 0.0], [0.0, 4.0], [3.0, 0.0]], dtype=np.float32)
    verdict = aggregate(logits, ("same", "different"))
    assert (verdict.label, verdict.window) == ("different", 1)


def test_ties_go_to_the_earlier_window() -> None:
    verdict = aggregate(np.asarray([NEU, ENT, ENT], dtype=np.float32), LABELS)
    assert verdict.window == 1
