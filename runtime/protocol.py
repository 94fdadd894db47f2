"""Each task's request and response: what API clients and `road score` rows send and get back.

Span-extraction tasks take `QARequest` and give `QAResponse`; a classification task's models
are built from its fields and labels (`classification_schemas`), except the default tasks',
declared here as they have always been documented.

The HTTP API's OpenAPI page (/docs) is generated from these and the wrappers in
`road.service.protocol`.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from road.core.tasks import NLI, TaskKind, TaskSpec


class Schema(BaseModel):
    # Strict: the API accepts exactly what its schema says ("t" is not a boolean, "2" no int).
    model_config = ConfigDict(extra="forbid", strict=True)


MIN_SCORE_HELP = (
    "Abstain when the most probable label's score is below this (0 to 1): the response has "
    "no `label` and `abstained: true`, its `scores` unchanged; default: never abstain"
)
QA_MIN_SCORE_HELP = (
    "Abstain when the best span's `score` is below this (0 to 1): the answer is empty (no "
    "answer) with `abstained: true`, `score` the best span's, `answers` unchanged; default: never"
)
ABSTAINED_HELP = "True when the best score was below the request's `min_score`"


def min_score_field() -> Any:
    """The classification `min_score` option (a fresh FieldInfo per model)."""
    return Field(None, ge=0, le=1, allow_inf_nan=False, description=MIN_SCORE_HELP)


class QARequest(Schema):
    """Extractive QA: find the answer to `question` as a span of `context`."""

    question: str = Field(min_length=1, examples=["Which rivers meet at Lyon?"])
    context: str = Field(min_length=1, examples=["Lyon lies where the Rhône and the Saône meet."])
    top_k: int = Field(1, ge=1, le=20, description="How many ranked answers to return in `answers`")
    max_answer_len: int | None = Field(
        None, ge=1, le=512, description="Longest answer in tokens; default from the bundle"
    )
    allow_no_answer: bool = Field(
        True, description="May the answer be empty when the context holds none"
    )
    null_threshold: float | None = Field(
        None,
        allow_inf_nan=False,
        description='Answer "no answer" when the null score beats the best span\'s by more '
        "than this (raw start + end logit sums); default from the bundle, tuned on dev",
    )
    min_score: float | None = Field(
        None, ge=0, le=1, allow_inf_nan=False, description=QA_MIN_SCORE_HELP
    )


class Answer(Schema):
    """A span of the context: `context[start:end] == answer`; `answer == ""` means no answer."""

    answer: str
    start: int = Field(description="Character offset of the answer in the context")
    end: int = Field(description="End-exclusive character offset")
    score: float = Field(description="Probability among the candidate spans and no-answer")


class QAResponse(Answer):
    answers: list[Answer] | None = Field(
        None, description="The top_k ranked answers, when top_k > 1"
    )
    abstained: bool | None = Field(None, description=ABSTAINED_HELP)


Truncation = Literal["windows", "longest_first", "none"]
TRUNCATION_HELP = (
    "A pair over the model's window: `windows` cuts the first text into overlapping windows "
    "and aggregates them (docs/service.md), `longest_first` truncates (the response says "
    "`truncated`), `none` refuses it (422)"
)


class NLIRequest(Schema):
    """Natural language inference: does `premise` entail or contradict `hypothesis`?"""

    premise: str = Field(min_length=1, examples=["A man is playing a guitar on stage."])
    hypothesis: str = Field(min_length=1, examples=["A man is performing music."])
    truncation: Truncation = Field("windows", description=TRUNCATION_HELP)
    min_score: float | None = min_score_field()


class Evidence(Schema):
    """The window of the first text that decided: `premise[start:end] == text`."""

    start: int = Field(description="Character offset of the window in the first text")
    end: int = Field(description="End-exclusive character offset")
    text: str


EVIDENCE_HELP = "The deciding window, when the first text was cut into windows"
TRUNCATED_HELP = "True when the pair was truncated (`truncation: longest_first`)"


class NLIResponse(Schema):
    label: str | None = Field(
        None, description="entailment, neutral or contradiction; absent when abstained"
    )
    scores: dict[str, float] = Field(description="Probability of each label")
    evidence: Evidence | None = Field(None, description=EVIDENCE_HELP)
    truncated: bool | None = Field(None, description=TRUNCATED_HELP)
    abstained: bool | None = Field(None, description=ABSTAINED_HELP)


class ClassificationResponse(Schema):
    """A classification task's answer: the predicted label and every label's probability."""

    label: str | None = Field(None, description="The most probable label; absent when abstained")
    scores: dict[str, float] = Field(description="Probability of each label")
    abstained: bool | None = Field(None, description=ABSTAINED_HELP)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@functools.cache
def classification_schemas(
    name: str, fields: tuple[str, ...], labels: tuple[str, ...]
) -> tuple[type[Schema], type[Schema]]:
    """Request and response models of a classification task, from its definition.

    Cached: the routes and the runtime's heads must share the very same classes."""
    pair = len(fields) == 2
    options = {"truncation": (Truncation, Field("windows", description=TRUNCATION_HELP))}
    abstain = {"min_score": (float | None, min_score_field())}
    answers: dict[str, Any] = {
        "evidence": (Evidence | None, Field(None, description=EVIDENCE_HELP)),
        "truncated": (bool | None, Field(None, description=TRUNCATED_HELP)),
    }
    request = create_model(  # type: ignore[call-overload]
        f"{_camel(name)}Request",
        __base__=Schema,
        __doc__=f"Classify into {', '.join(labels)}.",
        **{field: (str, Field(min_length=1)) for field in fields},
        **(options if pair else {}),
        **abstain,
    )
    response = create_model(
        f"{_camel(name)}Response",
        __base__=ClassificationResponse,
        __doc__=f"The {name} label: one of {', '.join(labels)}.",
        **(answers if pair else {}),
    )
    return request, response


# The default NLI task's schemas, as /nli has always documented them.
DECLARED: dict[str, tuple[type[Schema], type[Schema]]] = {NLI.name: (NLIRequest, NLIResponse)}


def task_schemas(spec: TaskSpec) -> tuple[type[Schema], type[Schema]]:
    """A task's request and response models, from its kind and definition."""
    if spec.kind is TaskKind.SPAN_EXTRACTION:
        return QARequest, QAResponse
    return DECLARED.get(spec.name) or classification_schemas(spec.name, spec.fields, spec.labels)
