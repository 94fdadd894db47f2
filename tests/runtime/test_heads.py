"""Task heads on constructed logits: `min_score` abstention for classification and QA."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from road.core.bundle import load_manifest
from road.core.calibration import softmax
from road.core.classification import TextEncoder
from road.core.tasks import TaskKind, TaskSpec
from road.core.windows import TextWindow
from road.runtime.heads import ClassificationHead, SpanHead, load_heads
from road.runtime.protocol import NLIRequest, QARequest, classification_schemas, task_schemas
from road.runtime.settings import ModelSettings, default_bundle

LOGITS = np.asarray([2.0, 0.0, -2.0], dtype=np.float32)  # entailment at about 0.867


@pytest.fixture(scope="module")
def heads() -> dict[str, Any]:
    bundle = default_bundle()
    return load_heads(bundle, load_manifest(bundle, verify=False))


def nli_answer(head: ClassificationHead, request: NLIRequest, logits: list[np.ndarray]) -> Any:
    rows = head.encode([request], ModelSettings())
    assert len(rows[0]) == len(logits)
    return head.decode([request], rows, [{"nli_logits": lg} for lg in logits])[0]


def top_score(head: ClassificationHead, logits: np.ndarray) -> float:
    return float(softmax(logits / head.info.temperature).max())


def test_a_pair_abstains_below_min_score_and_keeps_its_scores(heads: dict[str, Any]) -> None:
    head = heads["nli"]
    top = top_score(head, LOGITS)
    pair = {"premise": "A man plays a guitar.", "hypothesis": "A man makes music."}
    plain = nli_answer(head, NLIRequest(**pair), [LOGITS])
    above = nli_answer(head, NLIRequest(**pair, min_score=top - 0.01), [LOGITS])
    below = nli_answer(head, NLIRequest(**pair, min_score=top + 0.01), [LOGITS])
    assert (plain.label, plain.abstained) == ("entailment", None)
    assert (above.label, above.abstained) == ("entailment", None)
    assert (below.label, below.abstained) == (None, True)
    assert below.scores == plain.scores == above.scores
    assert max(below.scores.values()) == pytest.approx(top)
    assert below.model_dump(exclude_none=True).keys() == {"scores", "abstained"}


def test_a_windowed_pair_abstains_on_its_deciding_windows_score(heads: dict[str, Any]) -> None:
    head = heads["nli"]
    premise = "The committee met on a rainy Tuesday and discussed the budget. " * 30
    request = NLIRequest(premise=premise, hypothesis="A zebra crossed the road.")
    rows = head.encode([request], ModelSettings())[0]
    assert len(rows) > 2 and all(isinstance(r, TextWindow) for r in rows)
    neutral = np.asarray([0.0, 1.0, 0.0], dtype=np.float32)
    # One window contradicts; it decides, and its probability is the one held to min_score.
    logits = [neutral] * len(rows)
    logits[1] = np.asarray([0.0, 0.0, 3.0], dtype=np.float32)
    decided = nli_answer(head, request, logits)
    assert decided.label == "contradiction" and decided.evidence is not None
    score = decided.scores["contradiction"]
    kept = nli_answer(head, request.model_copy(update={"min_score": score - 0.01}), logits)
    dropped = nli_answer(head, request.model_copy(update={"min_score": score + 0.01}), logits)
    assert kept == decided
    assert (dropped.label, dropped.abstained) == (None, True)
    assert (dropped.scores, dropped.evidence) == (decided.scores, decided.evidence)


def test_a_single_text_task_has_min_score_too(heads: dict[str, Any]) -> None:
    spec = TaskSpec("topic", TaskKind.CLASSIFICATION, ("topic_logits",), ("a", "b"), ("text",))
    request, response = classification_schemas(spec.name, spec.fields, spec.labels)
    nli = heads["nli"]
    info = nli.info.model_copy(update={"temperature": 1.0, "fields": spec.fields})
    encoder = TextEncoder(nli.encoder.tokenizer, nli.encoder.max_seq_len, spec.fields)
    head = ClassificationHead(spec, info, encoder, request, response)
    item = request(text="A sports story.", min_score=0.95)
    rows = head.encode([item], ModelSettings())
    logits = {"topic_logits": np.asarray([1.0, 0.0], dtype=np.float32)}  # a at 0.731
    (answer,) = head.decode([item], rows, [logits])
    assert (answer.label, answer.abstained) == (None, True)
    assert answer.scores["a"] == pytest.approx(1 / (1 + np.exp(-1)))


@pytest.mark.parametrize("value", [-0.1, 1.01, float("nan"), float("inf"), "0.5", True])
def test_min_score_is_a_probability(value: object) -> None:
    for schema in (NLIRequest, QARequest):
        base = {"premise": "p", "hypothesis": "h"} if schema is NLIRequest else {}
        base = base or {"question": "q", "context": "c"}
        with pytest.raises(ValidationError):
            schema.model_validate({**base, "min_score": value})
        assert schema.model_validate({**base, "min_score": 1}).min_score == 1.0


def qa_answers(head: SpanHead, request: QARequest, keyword: str) -> Any:
    """Decode with a start and an end logit of 2 on `keyword`'s token, 0 elsewhere."""
    rows = head.encode([request], ModelSettings())
    token = head.encoder.tokenizer.token_to_id(keyword)
    outputs = []
    for window in rows[0]:
        hit = (np.asarray(window.input_ids) == token).astype(np.float32) * 2
        outputs.append({"start_logits": hit, "end_logits": hit})
    return head.decode([request], rows, outputs)[0]


def test_a_span_below_min_score_is_no_answer_with_its_score(heads: dict[str, Any]) -> None:
    head = heads["qa"]
    assert task_schemas(head.spec)[1] is head.response
    context = "In the park a zebra was grazing quietly."
    ask = {"question": "Which animal?", "context": context}
    best = qa_answers(head, QARequest(**ask, top_k=3), "zebra")
    assert best.answer == "zebra" and best.abstained is None and 0 < best.score < 1
    kept = qa_answers(head, QARequest(**ask, top_k=3, min_score=best.score - 0.01), "zebra")
    gone = qa_answers(head, QARequest(**ask, top_k=3, min_score=best.score + 0.01), "zebra")
    assert kept == best
    assert (gone.answer, gone.start, gone.end, gone.abstained) == ("", 0, 0, True)
    assert gone.score == best.score and gone.answers == best.answers
    # With no answer allowed off, the caller's floor still abstains.
    strict = QARequest(**ask, allow_no_answer=False, min_score=0.999)
    assert qa_answers(head, strict, "zebra").abstained is True
