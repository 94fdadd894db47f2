"""Dev-set evaluation per task kind, against any runner (PyTorch in training, ONNX at export)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from road.core.calibration import calibration_report
from road.core.classification import TextEncoder, label_probabilities, predicted_label
from road.core.data import ClassificationExample, QAExample
from road.core.metrics import accuracy, best_null_threshold, class_report, squad_scores
from road.core.negatives import (
    CROSS_ARTICLE_SUFFIX,
    SAME_ARTICLE_SUFFIX,
    same_article_unanswerable,
    with_negatives,
    with_unanswerable,
)
from road.core.qa import QAEncoder, QAWindow
from road.core.qa_decode import decode_answers
from road.core.rows import Row, Runner, length_sorted_batches, run_batches
from road.core.tasks import QA

__all__ = [
    "CROSS_ARTICLE_SUFFIX",
    "SAME_ARTICLE_SUFFIX",
    "Runner",
    "evaluate_classification",
    "evaluate_span",
    "negative_accuracy",
    "same_article_unanswerable",
    "with_negatives",
    "with_unanswerable",
]


def run_rows(
    runner: Runner,
    rows: Sequence[Row],
    batch_size: int,
    token_outputs: Collection[str] = QA.token_outputs,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Runs rows in length-sorted batches; yields (row index, that row's unpadded outputs)."""
    outputs = run_batches(runner, rows, length_sorted_batches(rows, batch_size), token_outputs)
    return iter(enumerate(outputs))


@dataclass(frozen=True)
class QAEval:
    metrics: dict[str, float]
    null_threshold: float
    # The answer given per question id at the threshold ("" = no answer).
    predictions: dict[str, str] = field(default_factory=dict)


def evaluate_span(
    runner: Runner,
    encoder: QAEncoder,
    examples: Sequence[QAExample],
    batch_size: int = 64,
    max_answer_len: int = 30,
    outputs: tuple[str, ...] = QA.outputs,
) -> QAEval:
    """SQuAD v2 scores at the F1-best null threshold, which is returned for the manifest."""
    start_name, end_name = outputs
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
    for i, out in run_rows(runner, rows, batch_size, outputs):
        windows[owner[i]].append(rows[i])
        starts[owner[i]].append(out[start_name])
        ends[owner[i]].append(out[end_name])
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
    metrics.update(negative_accuracy(golds, preds))
    return QAEval(metrics=metrics, null_threshold=float(threshold), predictions=preds)


def negative_accuracy(golds: dict[str, list[str]], preds: dict[str, str]) -> dict[str, float]:
    """NoAns accuracy per kind of negative: how often "" was answered."""
    metrics = {}
    for name, suffix in (
        ("cross_article", CROSS_ARTICLE_SUFFIX),
        ("same_article", SAME_ARTICLE_SUFFIX),
    ):
        ids = [qid for qid in golds if qid.endswith(suffix) and not golds[qid]]
        if ids:
            metrics[f"NoAns_{name}_acc"] = 100.0 * sum(preds[q] == "" for q in ids) / len(ids)
            metrics[f"NoAns_{name}_total"] = float(len(ids))
    return metrics


def evaluate_classification(
    runner: Runner,
    encoder: TextEncoder,
    examples: Sequence[ClassificationExample],
    labels: Sequence[str],
    output: str,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Accuracy, per-class recall/F1, macro-F1, the confusion matrix (percent), and the
    temperature fitted on these rows with ECE before and after it (`core/calibration.py`)."""
    rows = encoder.encode_texts([e.texts for e in examples], truncate=True)
    logits = np.zeros((len(rows), len(labels)), dtype=np.float32)
    for i, out in run_rows(runner, rows, batch_size, ()):
        logits[i] = out[output]
    preds = [predicted_label(scores) for scores in label_probabilities(logits, labels)]
    golds = [e.label for e in examples]
    return {
        "accuracy": accuracy(golds, preds),
        "total": float(len(examples)),
        **class_report(golds, preds, labels),
        **calibration_report(logits, golds, labels),
    }
