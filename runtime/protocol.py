"""Each task's request and response: what API clients and `road score` rows send and get back.

The HTTP API's OpenAPI page (/docs) is generated from these and the wrappers in
`road.service.protocol`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Schema(BaseModel):
    # Strict: the API accepts exactly what its schema says ("t" is not a boolean, "2" no int).
    model_config = ConfigDict(extra="forbid", strict=True)


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


class NLIRequest(Schema):
    """Natural language inference: does `premise` entail or contradict `hypothesis`?"""

    premise: str = Field(min_length=1, examples=["A man is playing a guitar on stage."])
    hypothesis: str = Field(min_length=1, examples=["A man is performing music."])


class NLIResponse(Schema):
    label: str = Field(description="entailment, neutral or contradiction")
    scores: dict[str, float] = Field(description="Probability of each label")
