"""Unanswerable training pairs: other-article and same-article negatives."""

from __future__ import annotations

from road.core.data import QAExample
from road.core.evaluation import (
    SAME_ARTICLE_SUFFIX,
    same_article_unanswerable,
    with_negatives,
)
from road.core.metrics import normalize_answer

ARTICLES = {
    "Rivers": [
        "The Rhone flows from the Alps to the Mediterranean Sea.",
        "The Saone joins the Rhone at Lyon, a city founded by the Romans.",
        "Barges carry grain along both rivers every summer.",
        "Lyon lies where the two rivers meet.",
    ],
    "Bread": [
        "Bakers in Lyon bake bread before dawn.",
        "Sourdough needs a starter kept alive for years.",
    ],
    "Alone": ["A single paragraph about a lighthouse keeper named Ada."],
}
QUESTIONS = [
    ("Rivers", 1, "Who founded Lyon?", "the Romans"),
    ("Rivers", 0, "Where does the Rhone flow to?", "the Mediterranean Sea"),
    ("Rivers", 1, "Which river joins the Rhone?", "The Saone"),  # also in paragraph 0 ("Rhone")
    ("Rivers", 3, "Where do the rivers meet?", "Lyon"),  # "Lyon" is in paragraph 1 too
    ("Bread", 0, "When do bakers bake?", "before dawn"),
    ("Alone", 0, "Who keeps the lighthouse?", "Ada"),
]


def examples() -> list[QAExample]:
    out = []
    for k, (title, p, question, answer) in enumerate(QUESTIONS * 20):
        context = ARTICLES[title][p]
        start = context.index(answer)
        out.append(QAExample(f"q{k}", title, question, context, (answer,), (start,)))
    return out


def test_same_article_negatives_never_contain_a_gold_answer() -> None:
    source = {ex.id: ex for ex in examples()}
    negatives = same_article_unanswerable(list(source.values()), 1.0, seed=3)
    assert len(negatives) > 40
    for neg in negatives:
        original = source[neg.id.removesuffix(SAME_ARTICLE_SUFFIX)]
        assert neg.title == original.title and neg.context != original.context
        assert neg.context in ARTICLES[original.title]
        assert neg.answers == () and neg.answer_starts == ()
        for gold in original.answers:
            assert normalize_answer(gold) not in normalize_answer(neg.context)
    # A one-paragraph article has no other paragraph: no negative rather than a wrong one.
    assert not [n for n in negatives if n.title == "Alone"]
    # "Where do the rivers meet?" (Lyon) may only get paragraphs without "Lyon".
    lyon = [
        n for n in negatives if source[n.id.removesuffix(SAME_ARTICLE_SUFFIX)].answers[0] == "Lyon"
    ]
    assert lyon and {n.context for n in lyon} <= {ARTICLES["Rivers"][0], ARTICLES["Rivers"][2]}


def test_with_negatives_adds_both_kinds_deterministically() -> None:
    base = examples()
    first = with_negatives(base, 0.25, 0.5, seed=11)
    assert first == with_negatives(base, 0.25, 0.5, seed=11)
    assert first[: len(base)] == base
    cross = [e for e in first if e.id.endswith("-neg")]
    same = [e for e in first if e.id.endswith(SAME_ARTICLE_SUFFIX)]
    assert len(cross) == 30 and 30 <= len(same) < 60  # 60 drawn, "Alone" ones get none
    titles = {ex.id: ex.title for ex in base}
    assert all(e.title != titles[e.id.removesuffix("-neg")] for e in cross)
