"""The one place where errors become HTTP responses, all as problem+json.

Routes never catch exceptions themselves; anything unexpected becomes a 500 whose body
carries no stack trace.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from road.core.errors import InputTooLong, NotReady, Overloaded, RoadError
from road.service.protocol import Problem

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, field=field)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


async def _input_too_long(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputTooLong)
    return problem(422, "Input too long", str(exc), field=exc.field)


async def _overloaded(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Overloaded)
    return problem(
        429, "Overloaded", str(exc), headers={"Retry-After": str(max(1, round(exc.retry_after_s)))}
    )


async def _not_ready(_: Request, exc: Exception) -> JSONResponse:
    return problem(503, "Not ready", str(exc), headers={"Retry-After": "1"})


async def _road_error(_: Request, exc: Exception) -> JSONResponse:
    log.error("request failed: %s", exc)
    return problem(500, "Internal error", "the request could not be processed")


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    location = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    detail = "; ".join(
        f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in errors[:5]
    )
    return problem(422, "Invalid request", detail, field=location or None)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal error", "the request could not be processed")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InputTooLong, _input_too_long)
    app.add_exception_handler(Overloaded, _overloaded)
    app.add_exception_handler(NotReady, _not_ready)
    app.add_exception_handler(RoadError, _road_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
