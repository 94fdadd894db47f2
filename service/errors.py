"""The one place where errors become HTTP responses: problem+json, `{"error"}` on /v2 routes.

Routes never catch exceptions themselves; anything unexpected becomes a 500 whose body carries
no stack trace. Refusals are counted by reason (`road_rejected_requests_total`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from road.core.errors import (
    ClientGone,
    DeadlineExceeded,
    InferenceFailed,
    InputTooLong,
    InvalidInput,
    ModelLoadFailed,
    ModelNotFound,
    NotReady,
    Overloaded,
    PayloadTooLarge,
    RoadError,
    TaskNotFound,
    Unauthorized,
)
from road.service.protocol import Problem

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
# nginx's code for "client closed request": logged and counted, never seen by the client.
CLIENT_CLOSED_REQUEST = 499
# The Open Inference Protocol's routes, whose clients read errors as `{"error": "..."}`.
V2_PREFIX = "/v2"
UNEXPECTED = "the request could not be processed"


@dataclass(frozen=True)
class Mapping:
    status: int
    title: str
    reason: str | None  # rejection reason counted in metrics; None: not a rejection
    headers: Callable[[Exception], dict[str, str]] | None = None
    public_detail: bool = True  # False: the exception's text stays in the server log


def _retry_after(exc: Exception) -> dict[str, str]:
    seconds = exc.retry_after_s if isinstance(exc, Overloaded) else 1.0
    return {"Retry-After": str(max(1, round(seconds)))}


DOMAIN: dict[type[RoadError], Mapping] = {
    InputTooLong: Mapping(422, "Input too long", "input_too_long"),
    PayloadTooLarge: Mapping(413, "Content too large", "body_too_large"),
    Overloaded: Mapping(429, "Overloaded", "overloaded", _retry_after),
    NotReady: Mapping(503, "Not ready", "not_ready", _retry_after),
    DeadlineExceeded: Mapping(504, "Deadline exceeded", "deadline_exceeded"),
    ClientGone: Mapping(CLIENT_CLOSED_REQUEST, "Client closed request", "client_gone"),
    Unauthorized: Mapping(
        401, "Unauthorized", "unauthorized", lambda _: {"WWW-Authenticate": "Bearer"}
    ),
    InferenceFailed: Mapping(500, "Inference failed", None),
    TaskNotFound: Mapping(404, "Not found", None),
    ModelNotFound: Mapping(404, "Not found", None),
    # 400 as Triton answers a failed load; the reason is the error's text.
    ModelLoadFailed: Mapping(400, "Model load failed", None),
    InvalidInput: Mapping(400, "Invalid input", "invalid_request"),
}
HTTP_REASONS = {400: "invalid_body", 413: "body_too_large", 404: None, 405: None}


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    request: Request | None = None,
) -> JSONResponse:
    """The error response: problem+json, or the v2 protocol's shape for a v2 `request`."""
    if request is not None and _is_v2(request.url.path):
        return JSONResponse({"error": detail or title}, status_code=status, headers=headers)
    body = Problem(title=title, status=status, detail=detail, field=field)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _is_v2(path: str) -> bool:
    return path == V2_PREFIX or path.startswith(f"{V2_PREFIX}/")


def _count(request: Request, reason: str | None) -> None:
    state = getattr(request.app.state, "road", None)
    if reason is not None and state is not None:
        state.metrics.reject(reason)


def render_domain(request: Request, exc: RoadError) -> JSONResponse:
    """A domain error as problem+json; also used by the ASGI middlewares (auth)."""
    mapping = next((m for t, m in DOMAIN.items() if isinstance(exc, t)), None)
    if mapping is None:
        log.error("request failed: %s", exc)
        return problem(500, "Internal error", UNEXPECTED, request=request)
    _count(request, mapping.reason)
    if mapping.status == 500:
        log.error("request failed: %s", exc)
    return problem(
        mapping.status,
        mapping.title,
        str(exc) if mapping.public_detail else None,
        field=getattr(exc, "field", None),
        headers=mapping.headers(exc) if mapping.headers else None,
        request=request,
    )


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RoadError)
    return render_domain(request, exc)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        _count(request, "invalid_body")
        position = first.get("loc", ("body", "?"))[-1]
        detail = f"invalid JSON at character {position}"
        return problem(400, "Malformed JSON", detail, request=request)
    _count(request, "invalid_request")
    location = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    detail = "; ".join(
        f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in errors[:5]
    )
    return problem(422, "Invalid request", detail, field=location or None, request=request)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    _count(request, HTTP_REASONS.get(exc.status_code, f"http_{exc.status_code}"))
    headers = getattr(exc, "headers", None)
    return problem(exc.status_code, str(exc.detail), headers=headers, request=request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return problem(500, "Internal error", UNEXPECTED, request=request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RoadError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


PROBLEM_STATUSES = {
    400: "Malformed body (invalid JSON or UTF-8)",
    401: "Missing or invalid API key (when auth is on)",
    413: "Body larger than the server's limit",
    422: "Invalid request or an input over its limit (`field` names it)",
    429: "Queue full; retry after `Retry-After` seconds",
    500: "Inference failed for the batch holding this request",
    503: "Model not loaded yet, or the server is draining",
    504: "The request's deadline passed before it could run",
}


def problem_responses() -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` for model routes: every error status, all as Problem."""
    retry = {
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    return {
        status: {
            "description": description,
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": retry} if status in (429, 503) else {}),
        }
        for status, description in PROBLEM_STATUSES.items()
    }
