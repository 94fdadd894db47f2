"""The quality gate: the exported graph's dev metrics against the PyTorch checkpoint's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from road.core.data import NLIExample, QAExample, read_nli, read_squad
from road.core.evaluation import Runner, evaluate_nli, evaluate_qa, with_unanswerable
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder
from road.export.errors import QualityGateError
from road.training.config import TrainConfig
from road.training.evaluate import DEV_NEGATIVE_SEED

# (task, metric) pairs that must not drop by more than the budget, in points (0-100 scale).
GATED: tuple[tuple[str, str], ...] = (("qa", "f1"), ("qa", "exact"), ("nli", "accuracy"))


@dataclass(frozen=True)
class DevSets:
    """The dev examples of each configured task, exactly as training's `evaluate` picks them."""

    qa: list[QAExample] | None
    nli: list[NLIExample] | None


def dev_sets(config: TrainConfig, limit: int | None) -> DevSets:
    """First `limit` (else the config's `dev_limit`) examples; QA gets the same negatives."""
    qa = nli = None
    if config.qa is not None:
        examples = read_squad(config.qa.dev)[: limit or config.qa.dev_limit]
        qa = with_unanswerable(examples, config.qa.negative_fraction, DEV_NEGATIVE_SEED)
    if config.nli is not None:
        nli = read_nli(config.nli.dev)[: limit or config.nli.dev_limit]
    return DevSets(qa=qa, nli=nli)


def evaluate_runner(
    runner: Runner, config: TrainConfig, tokenizer_dir: Path, dev: DevSets
) -> dict[str, Any]:
    """Dev metrics in the layout of training's `evaluate` (QA includes its tuned null_threshold)."""
    result: dict[str, Any] = {}
    if config.qa is not None and dev.qa is not None:
        qa = config.qa
        encoder = QAEncoder.from_file(
            tokenizer_dir, qa.max_seq_len, qa.doc_stride, qa.max_question_tokens
        )
        qa_eval = evaluate_qa(runner, encoder, dev.qa, max_answer_len=qa.max_answer_len)
        result["qa"] = {**qa_eval.metrics, "null_threshold": qa_eval.null_threshold}
    if config.nli is not None and dev.nli is not None:
        encoder_nli = NLIEncoder.from_file(tokenizer_dir, config.nli.max_seq_len)
        result["nli"] = evaluate_nli(runner, encoder_nli, dev.nli)
    return result


def metric_drops(reference: dict[str, Any], candidate: dict[str, Any]) -> dict[str, float]:
    """Points lost by `candidate` on each gated metric that both sides report."""
    return {
        f"{task}.{metric}": float(reference[task][metric]) - float(candidate[task][metric])
        for task, metric in GATED
        if metric in reference.get(task, {}) and metric in candidate.get(task, {})
    }


def check_quality(
    reference: dict[str, Any], candidate: dict[str, Any], budget: float
) -> dict[str, float]:
    """Return the drops, or raise `QualityGateError` when any exceeds `budget` points."""
    drops = metric_drops(reference, candidate)
    # "Not within budget" rather than "above it", so that a NaN metric fails too.
    if not all(drop <= budget for drop in drops.values()):
        raise QualityGateError(drops, budget)
    return drops
