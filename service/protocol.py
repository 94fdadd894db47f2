"""HTTP-only schemas: batch wrappers, health and problem details (the tasks' own: runtime)."""

from __future__ import annotations

from pydantic import Field

from road.runtime.protocol import NLIRequest, NLIResponse, QARequest, QAResponse, Schema


class QABatchRequest(Schema):
    items: list[QARequest] = Field(min_length=1)


class QABatchResponse(Schema):
    results: list[QAResponse]


class NLIBatchRequest(Schema):
    items: list[NLIRequest] = Field(min_length=1)


class NLIBatchResponse(Schema):
    results: list[NLIResponse]


class Health(Schema):
    status: str
    bundle: str | None = None
    precision: str | None = None
    provider: str | None = None


class Problem(Schema):
    """RFC 9457 problem details: the one shape of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    field: str | None = None
