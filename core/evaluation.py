"""Dev-set evaluation against any runner (PyTorch in training, ONNX Runtime in the export gate)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from road.core.data import NLIExample, QAExample
from road.core.metrics import (
    accuracy,
    best_null_threshold,
    class_report,
    normalize_answer,
    squad_scores,
)
from road.core.nli import NLIEncoder, label_probabilities, predicted_label
from road.core.qa import QAEncoder, QAWindow
from road.core.qa_decode import decode_answers
from road.core.rows import Row, pad_rows, row_outputs
from road.core.tasks import NLI

CROSS_ARTICLE_SUFFIX = "-neg"
SAME_ARTICLE_SUFFIX = "-same"

Runner = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
"""Maps padded graph inputs to the graph's named outputs."""


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


def run_rows(
    runner: Runner, rows: Sequence[Row], batch_size: int
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Runs rows in length-sorted batches; yields (row index, that row's unpadded outputs)."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    for begin in range(0, len(order), batch_size):
        chunk = order[begin : begin + batch_size]
        outputs = runner(pad_rows([rows[i] for i in chunk]))
        for j, i in enumerate(chunk):
            yield i, row_outputs(outputs, j, len(rows[i]))


@dataclass(frozen=True)
class QAEval:
    metrics: dict[str, float]
    null_threshold: float
    # The answer given per question id at the threshold ("" = no answer).
    predictions: dict[str, str] = field(default_factory=dict)


def evaluate_qa(
    runner: Runner,
    encoder: QAEncoder,
    examples: Sequence[QAExample],
    batch_size: int = 64,
    max_answer_len: int = 30,
) -> QAEval:
    """SQuAD v2 scores at the F1-best null threshold, which is returned for the manifest."""
    examples = [
        ex
        for ex, n in zip(examples, encoder.question_lengths([e.question for e in examples]))
        if n <= encoder.max_question_tokens
    ]
    per_example = encoder.encode([e.question for e in examples], [e.context for e in examples])
    rows: list[QAWindow] = [w for windows in per_example for w in windows]
    owner = [k for k, windows in enumerate(per_example) for _ in windows]
    starts: list[list[np.ndarray]] = [[] for _ in examples]
    ends: list[list[np.ndarray]] = [[] for _ in examples]
    windows: list[list[QAWindow]] = [[] for _ in examples]
    for i, out in sorted(run_rows(runner, rows, batch_size), key=lambda item: item[0]):
        windows[owner[i]].append(rows[i])
        starts[owner[i]].append(out["start_logits"])
        ends[owner[i]].append(out["end_logits"])
    golds, spans, margins = {}, {}, {}
    for k, ex in enumerate(examples):
        decoded = decode_answers(
            windows[k],
            starts[k],
            ends[k],
            ex.context,
            max_answer_len=max_answer_len,
            allow_no_answer=False,
        )
        golds[ex.id] = list(ex.answers)
        spans[ex.id] = decoded.answers[0].text if decoded.answers else ""
        margins[ex.id] = decoded.null_logit - decoded.best_span_logit
    threshold, _ = best_null_threshold(golds, spans, margins)
    preds = {qid: ("" if margins[qid] > threshold else spans[qid]) for qid in golds}
    metrics = squad_scores(golds, preds)
    for name, suffix in (
        ("cross_article", CROSS_ARTICLE_SUFFIX),
        ("same_article", SAME_ARTICLE_SUFFIX),
    ):
        ids = [qid for qid in golds if qid.endswith(suffix) and not golds[qid]]
        if ids:  # NoAns accuracy per kind of negative: how often "" was answered
            metrics[f"NoAns_{name}_acc"] = 100.0 * sum(preds[q] == "" for q in ids) / len(ids)
            metrics[f"NoAns_{name}_total"] = float(len(ids))
    return QAEval(metrics=metrics, null_threshold=float(threshold), predictions=preds)


def evaluate_nli(
    runner: Runner, encoder: NLIEncoder, examples: Sequence[NLIExample], batch_size: int = 64
) -> dict[str, Any]:
    rows = encoder.encode(
        [e.premise for e in examples], [e.hypothesis for e in examples], truncate=True
    )
    logits = np.zeros((len(rows), 3), dtype=np.float32)
    for i, out in run_rows(runner, rows, batch_size):
        logits[i] = out["nli_logits"]
    preds = [predicted_label(scores) for scores in label_probabilities(logits)]
    golds = [e.label for e in examples]
    return {
        "accuracy": accuracy(golds, preds),
        "total": float(len(examples)),
        **class_report(golds, preds, NLI.labels),
    }
