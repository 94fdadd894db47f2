"""Task metrics: the official SQuAD v2.0 EM/F1 (HasAns/NoAns/total) and NLI accuracy."""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, strip punctuation, articles and extra whitespace (official SQuAD rule)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(gold: str, pred: str) -> float:
    return float(normalize_answer(gold) == normalize_answer(pred))


def f1_score(gold: str, pred: str) -> float:
    gold_tokens, pred_tokens = normalize_answer(gold).split(), normalize_answer(pred).split()
    if not gold_tokens or not pred_tokens:
        # An empty answer (no-answer) scores 1 only against another empty answer.
        return float(gold_tokens == pred_tokens)
    common = collections.Counter(gold_tokens) & collections.Counter(pred_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred_tokens), overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _best_over_golds(golds: Sequence[str], pred: str) -> tuple[float, float]:
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(exact_match(g, pred) for g in golds), max(f1_score(g, pred) for g in golds)


def squad_scores(golds: Mapping[str, Sequence[str]], preds: Mapping[str, str]) -> dict[str, float]:
    """SQuAD v2.0 scores in percent; a question with no gold answers is a NoAns question."""
    per_id = {qid: _best_over_golds(answers, preds.get(qid, "")) for qid, answers in golds.items()}
    has_ans = [qid for qid, answers in golds.items() if any(normalize_answer(a) for a in answers)]
    no_ans = [qid for qid in golds if qid not in set(has_ans)]
    result: dict[str, float] = {}
    for prefix, ids in (("", list(golds)), ("HasAns_", has_ans), ("NoAns_", no_ans)):
        result[f"{prefix}total"] = float(len(ids))
        if ids:
            result[f"{prefix}exact"] = 100.0 * sum(per_id[i][0] for i in ids) / len(ids)
            result[f"{prefix}f1"] = 100.0 * sum(per_id[i][1] for i in ids) / len(ids)
    return result


def best_null_threshold(
    golds: Mapping[str, Sequence[str]],
    span_preds: Mapping[str, str],
    null_margins: Mapping[str, float],
) -> tuple[float, float]:
    """The null threshold that maximises F1, and that F1 (official `find_best_thresh`).

    `null_margins[qid]` is null logit minus best span logit; a question is answered "" when its
    margin exceeds the threshold.
    """
    f1 = {qid: _best_over_golds(golds[qid], span_preds[qid])[1] for qid in golds}
    no_ans = {qid: not any(normalize_answer(a) for a in golds[qid]) for qid in golds}
    score = sum(1.0 for qid in golds if no_ans[qid])
    # Start below every margin (everything answered ""), then answer questions from the most
    # confident span upwards; each step raises the threshold to that question's margin.
    best_score, best_threshold = score, min(null_margins.values(), default=0.0) - 1.0
    for qid in sorted(golds, key=lambda q: null_margins[q]):
        score += f1[qid] - (1.0 if no_ans[qid] else 0.0)
        if score > best_score:
            best_score, best_threshold = score, null_margins[qid]
    return best_threshold, 100.0 * best_score / max(len(golds), 1)


def accuracy(gold_labels: Sequence[str], pred_labels: Sequence[str]) -> float:
    """Accuracy in percent."""
    if len(gold_labels) != len(pred_labels):
        raise ValueError("gold and predicted labels differ in length")
    hits = sum(g == p for g, p in zip(gold_labels, pred_labels))
    return 100.0 * hits / max(len(gold_labels), 1)


def class_report(
    golds: Sequence[str], preds: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Per-class recall and F1 (percent), macro-F1, and the confusion matrix gold → predicted."""
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for gold, pred in zip(golds, preds, strict=True):
        confusion[gold][pred] += 1
    recall, f1 = {}, {}
    for label in labels:
        hits = confusion[label][label]
        gold_n = sum(confusion[label].values())
        pred_n = sum(confusion[g][label] for g in labels)
        recall[label] = 100.0 * hits / gold_n if gold_n else 0.0
        f1[label] = 200.0 * hits / (gold_n + pred_n) if gold_n + pred_n else 0.0
    return {
        "per_class_recall": recall,
        "per_class_f1": f1,
        "macro_f1": sum(f1.values()) / len(labels),
        "confusion": confusion,
    }
