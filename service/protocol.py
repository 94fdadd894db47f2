"""HTTP-only schemas: batch wrappers, health and problem details (the tasks' own: runtime)."""

from __future__ import annotations

from pydantic import Field, create_model

from road.core.tasks import NLI, QA
from road.runtime.protocol import NLIRequest, NLIResponse, QARequest, QAResponse, Schema


class QABatchRequest(Schema):
    items: list[QARequest] = Field(min_length=1)


class QABatchResponse(Schema):
    results: list[QAResponse]


class NLIBatchRequest(Schema):
    items: list[NLIRequest] = Field(min_length=1)


class NLIBatchResponse(Schema):
    results: list[NLIResponse]


# The default tasks' batch wrappers, as /qa/batch and /nli/batch have always documented them.
DECLARED_BATCH: dict[str, tuple[type[Schema], type[Schema]]] = {
    QA.name: (QABatchRequest, QABatchResponse),
    NLI.name: (NLIBatchRequest, NLIBatchResponse),
}


def batch_schemas(
    task: str, request: type[Schema], response: type[Schema]
) -> tuple[type[Schema], type[Schema]]:
    """The `{items: [...]}` / `{results: [...]}` wrappers of one task's schemas."""
    declared = DECLARED_BATCH.get(task)
    if declared is not None:
        return declared
    camel = "".join(part.capitalize() for part in task.split("_"))
    batch_request = create_model(
        f"{camel}BatchRequest",
        __base__=Schema,
        items=(list[request], Field(min_length=1)),  # type: ignore[valid-type]
    )
    batch_response = create_model(
        f"{camel}BatchResponse",
        __base__=Schema,
        results=(list[response], ...),  # type: ignore[valid-type]
    )
    return batch_request, batch_response


class Health(Schema):
    status: str
    bundle: str | None = None
    precision: str | None = None
    provider: str | None = None
    # Why the server refuses readiness for good (golden rows drift), when it does.
    detail: str | None = None


class Problem(Schema):
    """RFC 9457 problem details: the one shape of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    field: str | None = None
