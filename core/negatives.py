"""Unanswerable pairs for span-extraction training and dev: other-article and same-article."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from road.core.data import QAExample
from road.core.metrics import normalize_answer

CROSS_ARTICLE_SUFFIX = "-neg"
SAME_ARTICLE_SUFFIX = "-same"
# The dev set's negatives are drawn with one seed everywhere (training eval, export gate, bench),
# so every score of a model is on the same unanswerable pairs.
DEV_NEGATIVE_SEED = 1234


def with_unanswerable(examples: Sequence[QAExample], fraction: float, seed: int) -> list[QAExample]:
    """Adds unanswerable pairs: questions paired with a paragraph of another article."""
    rng = random.Random(seed)
    contexts = sorted({(ex.title, ex.context) for ex in examples})
    extra = []
    for ex in rng.sample(list(examples), int(len(examples) * fraction)):
        title, context = rng.choice(contexts)
        while title == ex.title and len({t for t, _ in contexts}) > 1:
            title, context = rng.choice(contexts)
        extra.append(
            replace(
                ex,
                id=f"{ex.id}{CROSS_ARTICLE_SUFFIX}",
                title=title,
                context=context,
                answers=(),
                answer_starts=(),
            )
        )
    return [*examples, *extra]


def same_article_unanswerable(
    examples: Sequence[QAExample], fraction: float, seed: int
) -> list[QAExample]:
    """Harder unanswerable pairs: a question on another paragraph of its own article.

    The paragraph is on the question's topic but must not contain any of its gold answers
    (normalised text); a question whose article has no such paragraph gets no negative.
    """
    rng = random.Random(seed)
    # Per article, its paragraphs and their normalised text (once: an article may have
    # thousands of paragraphs, like SQuADShifts' single reddit "article").
    by_title: dict[str, dict[str, str]] = {}
    for ex in examples:
        paragraphs = by_title.setdefault(ex.title, {})
        if ex.context not in paragraphs:
            paragraphs[ex.context] = normalize_answer(ex.context)
    negatives = []
    for ex in rng.sample(list(examples), int(len(examples) * fraction)):
        golds = [normalize_answer(a) for a in ex.answers if normalize_answer(a)]
        paragraphs = by_title[ex.title]
        negative = _pick_paragraph(rng, list(paragraphs), paragraphs, ex.context, golds)
        if negative is not None:
            negatives.append(
                replace(
                    ex,
                    id=f"{ex.id}{SAME_ARTICLE_SUFFIX}",
                    context=negative,
                    answers=(),
                    answer_starts=(),
                )
            )
    return negatives


def _pick_paragraph(
    rng: random.Random,
    order: list[str],
    normalised: dict[str, str],
    own: str,
    golds: list[str],
) -> str | None:
    """A random paragraph other than `own` that holds none of `golds`, or None."""
    for k in rng.sample(range(len(order)), len(order)):
        context = order[k]
        if context != own and not any(g in normalised[context] for g in golds):
            return context
    return None


def with_negatives(
    examples: Sequence[QAExample], cross_fraction: float, same_fraction: float, seed: int
) -> list[QAExample]:
    """The examples, other-article negatives (`-neg`), then same-article ones (`-same`)."""
    cross = with_unanswerable(examples, cross_fraction, seed)
    return [*cross, *same_article_unanswerable(examples, same_fraction, seed + 1)]
