"""Per-task head post-processing and input limits, shared by the server and the batch job.

Everything here is synchronous numpy work on one request's rows, so callers decide where it runs
(worker threads in the server, the job's own loop in `road score`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from road.core.bundle import QATaskInfo
from road.core.errors import InputTooLong
from road.core.nli import label_probabilities, predicted_label
from road.core.qa import QAWindow
from road.core.qa_decode import decode_answers
from road.runtime.protocol import Answer, NLIRequest, NLIResponse, QARequest, QAResponse

RowOutput = dict[str, np.ndarray]


def check_chars(field: str, text: str, limit: int) -> None:
    """Refuse text longer than `limit` characters, naming the field."""
    if len(text) > limit:
        raise InputTooLong(field, limit, len(text), unit="characters")


def check_qa(item: QARequest, max_question_chars: int, max_context_chars: int) -> None:
    check_chars("question", item.question, max_question_chars)
    check_chars("context", item.context, max_context_chars)


def check_nli(item: NLIRequest, max_nli_chars: int) -> None:
    check_chars("premise", item.premise, max_nli_chars)
    check_chars("hypothesis", item.hypothesis, max_nli_chars)


def qa_response(
    item: QARequest, windows: Sequence[QAWindow], outputs: Sequence[RowOutput], qa: QATaskInfo
) -> QAResponse:
    """Decode one question's answer from the outputs of all of its windows."""
    decoded = decode_answers(
        list(windows),
        [o["start_logits"] for o in outputs],
        [o["end_logits"] for o in outputs],
        item.context,
        top_k=item.top_k,
        max_answer_len=item.max_answer_len or qa.max_answer_len,
        null_threshold=qa.null_threshold,
        allow_no_answer=item.allow_no_answer,
    )
    answers = [
        Answer(answer=a.text, start=a.start, end=a.end, score=a.score) for a in decoded.answers
    ]
    if not answers:
        # No context token at all (e.g. a whitespace-only context) and no-answer not allowed.
        answers = [Answer(answer="", start=0, end=0, score=0.0)]
    best = answers[0]
    return QAResponse(**best.model_dump(), answers=answers if item.top_k > 1 else None)


def nli_responses(outputs: Sequence[RowOutput]) -> list[NLIResponse]:
    """Label and per-label probabilities for each NLI row's output."""
    if not outputs:
        return []
    scores = label_probabilities(np.stack([o["nli_logits"] for o in outputs]))
    return [NLIResponse(label=predicted_label(s), scores=s) for s in scores]
