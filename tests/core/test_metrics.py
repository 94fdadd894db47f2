"""The official SQuAD v2.0 metric, checked against hand-computed values."""

from __future__ import annotations

import pytest

from road.core.metrics import (
    accuracy,
    best_null_threshold,
    exact_match,
    f1_score,
    normalize_answer,
    squad_scores,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Rhône, and Saône!", "rhône and saône"),
        ("  Hello \t World \n", "hello world"),
        ("a An THE", ""),
        ("theatre another", "theatre another"),  # articles only as whole words
        ("U.S.A. (1776)", "usa 1776"),
        ("the Romans", "romans"),
        ("", ""),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def test_exact_match_after_normalisation() -> None:
    assert exact_match("the Romans", "Romans.") == 1.0
    assert exact_match("Romans", "Roman") == 0.0
    assert exact_match("", "") == 1.0
    assert exact_match("", "Romans") == 0.0


def test_f1_partial_overlap() -> None:
    # gold "the Rhône and Saône" -> [rhône, and, saône] (3 tokens); pred "Rhône" -> [rhône].
    # overlap 1: precision 1/1, recall 1/3, F1 = 2 * 1 * (1/3) / (1 + 1/3) = 0.5
    assert f1_score("the Rhône and Saône", "Rhône") == pytest.approx(0.5)
    # Symmetric in gold/pred here: precision 1/3, recall 1.
    assert f1_score("Rhône", "the Rhône and Saône") == pytest.approx(0.5)


def test_f1_counts_repeated_tokens_once_per_occurrence() -> None:
    # gold [red, red, blue], pred [red, red, red, green]: common = {red: 2}, overlap 2.
    # precision 2/4, recall 2/3, F1 = 2 * (1/2) * (2/3) / (1/2 + 2/3) = (2/3) / (7/6) = 4/7
    assert f1_score("red red blue", "red red red green") == pytest.approx(4 / 7)


def test_f1_empty_answers() -> None:
    assert f1_score("", "") == 1.0
    assert f1_score("the", "") == 1.0  # "the" normalises to the empty answer
    assert f1_score("", "Lyon") == 0.0
    assert f1_score("Lyon", "") == 0.0
    assert f1_score("Lyon", "Paris") == 0.0


def test_squad_scores_split_has_ans_no_ans_and_total() -> None:
    golds = {
        "q1": ["Rhône and Saône", "the rivers"],
        "q2": ["the Romans"],
        "q3": [],
        "q4": [""],
        "q5": ["43 BC"],
    }
    preds = {"q1": "rivers Rhône", "q2": "Romans", "q3": "", "q4": "43 BC"}  # q5 missing -> ""
    # q1: vs gold 1: p 1/2, r 1/3 -> F1 0.4; vs gold 2 [rivers]: p 1/2, r 1 -> F1 2/3. EM 0.
    # q2: EM 1, F1 1.  q3: no answer, predicted "" -> 1, 1.  q4: no answer, answered -> 0, 0.
    # q5: answerable, no prediction -> 0, 0.
    scores = squad_scores(golds, preds)
    assert scores["total"] == 5.0
    assert scores["HasAns_total"] == 3.0
    assert scores["NoAns_total"] == 2.0
    assert scores["exact"] == pytest.approx(100 * 2 / 5)
    assert scores["f1"] == pytest.approx(100 * (2 / 3 + 1 + 1) / 5)
    assert scores["HasAns_exact"] == pytest.approx(100 * 1 / 3)
    assert scores["HasAns_f1"] == pytest.approx(100 * (2 / 3 + 1) / 3)
    assert scores["NoAns_exact"] == pytest.approx(50.0)
    assert scores["NoAns_f1"] == pytest.approx(50.0)


def test_squad_scores_without_no_answer_questions() -> None:
    scores = squad_scores({"a": ["Lyon"], "b": ["Paris"]}, {"a": "lyon", "b": "Rome"})
    assert scores == {
        "total": 2.0,
        "exact": 50.0,
        "f1": 50.0,
        "HasAns_total": 2.0,
        "HasAns_exact": 50.0,
        "HasAns_f1": 50.0,
        "NoAns_total": 0.0,
    }


def test_best_null_threshold_hand_made_optimum() -> None:
    golds = {"a": ["Paris"], "b": [], "c": ["Berlin"], "d": []}
    spans = {"a": "Paris", "b": "London", "c": "Bonn", "d": "Madrid"}
    margins = {"a": -3.0, "b": 1.0, "c": 2.0, "d": -1.0}
    # A question is answered with its span when margin <= threshold, else "".
    #   t < -3:       all ""           -> b, d right                 -> 2/4
    #   -3 <= t < -1: a answered       -> a, b, d right              -> 3/4  (optimum)
    #   -1 <= t < 1:  a, d answered    -> a, b right                 -> 2/4
    #   1 <= t < 2:   a, d, b answered -> a right                    -> 1/4
    #   t >= 2:       all answered     -> a right (Bonn scores F1 0) -> 1/4
    threshold, f1 = best_null_threshold(golds, spans, margins)
    assert threshold == -3.0
    assert f1 == pytest.approx(75.0)
    preds = {q: "" if margins[q] > threshold else spans[q] for q in golds}
    assert squad_scores(golds, preds)["f1"] == pytest.approx(f1)


def test_best_null_threshold_all_unanswerable_predicts_nothing() -> None:
    golds: dict[str, list[str]] = {"a": [], "b": []}
    threshold, f1 = best_null_threshold(golds, {"a": "x", "b": "y"}, {"a": 0.5, "b": -2.0})
    assert threshold < -2.0  # below every margin: both answered ""
    assert f1 == 100.0


def test_best_null_threshold_all_answered_when_spans_are_right() -> None:
    golds = {"a": ["Lyon"], "b": ["Paris"]}
    threshold, f1 = best_null_threshold(golds, {"a": "Lyon", "b": "Paris"}, {"a": 4.0, "b": -1.0})
    assert threshold == 4.0
    assert f1 == 100.0


def test_accuracy() -> None:
    assert (
        accuracy(
            ["entailment", "neutral", "contradiction", "neutral"],
            ["entailment", "neutral", "neutral", "neutral"],
        )
        == 75.0
    )
    with pytest.raises(ValueError, match="length"):
        accuracy(["entailment"], [])


def test_class_report_counts_confusions_and_per_class_scores() -> None:
    from road.core.metrics import class_report

    labels = ("entailment", "neutral", "contradiction")
    golds = ["entailment"] * 4 + ["neutral"] * 2 + ["contradiction"] * 2
    preds = ["entailment", "entailment", "entailment", "contradiction",
             "entailment", "neutral", "contradiction", "contradiction"]  # fmt: skip
    report = class_report(golds, preds, labels)
    assert report["confusion"]["entailment"] == {
        "entailment": 3, "neutral": 0, "contradiction": 1
    }  # fmt: skip
    assert report["confusion"]["neutral"]["entailment"] == 1
    assert report["per_class_recall"] == {
        "entailment": 75.0,
        "neutral": 50.0,
        "contradiction": 100.0,
    }
    # neutral: 1 hit, 2 gold, 1 predicted → F1 = 2·1/(2+1)
    assert abs(report["per_class_f1"]["neutral"] - 200 / 3) < 1e-9
    assert abs(report["macro_f1"] - sum(report["per_class_f1"].values()) / 3) < 1e-9
