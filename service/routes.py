"""Thin HTTP routes: validate, hand to the engine, return. No error handling here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from road.core.errors import InputTooLong
from road.runtime.protocol import NLIRequest, NLIResponse, QARequest, QAResponse
from road.service.errors import problem_responses
from road.service.guard import TIMEOUT_HEADER, deadline, unless_disconnected
from road.service.protocol import (
    Health,
    NLIBatchRequest,
    NLIBatchResponse,
    QABatchRequest,
    QABatchResponse,
)
from road.service.state import AppState

router = APIRouter()
Timeout = Annotated[
    float | None,
    Header(
        alias=TIMEOUT_HEADER,
        gt=0,
        description="Deadline in milliseconds from arrival; a request not run by then gets 504. "
        "Default: the server's request_timeout_s.",
    ),
]
MODEL_ROUTE = {"response_model_exclude_none": True, "responses": problem_responses()}


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.road
    return state


def _check_items(state: AppState, count: int) -> None:
    if count > state.settings.max_batch_items:
        raise InputTooLong("items", state.settings.max_batch_items, count, unit="items")


@router.post("/qa", response_model=QAResponse, tags=["qa"], **MODEL_ROUTE)
async def qa(body: QARequest, request: Request, timeout_ms: Timeout = None) -> QAResponse:
    """Answer one question from its context (contexts longer than one window are windowed)."""
    state = _state(request)
    by = deadline(request, state.settings, timeout_ms)
    return (await unless_disconnected(request, state.ready_engine().answer([body], by)))[0]


@router.post("/qa/batch", response_model=QABatchResponse, tags=["qa"], **MODEL_ROUTE)
async def qa_batch(
    body: QABatchRequest, request: Request, timeout_ms: Timeout = None
) -> QABatchResponse:
    """Answer many questions in one call; results come back in the order of `items`."""
    state = _state(request)
    _check_items(state, len(body.items))
    by = deadline(request, state.settings, timeout_ms)
    results = await unless_disconnected(request, state.ready_engine().answer(body.items, by))
    return QABatchResponse(results=results)


@router.post("/nli", response_model=NLIResponse, tags=["nli"], **MODEL_ROUTE)
async def nli(body: NLIRequest, request: Request, timeout_ms: Timeout = None) -> NLIResponse:
    """Classify one premise/hypothesis pair."""
    state = _state(request)
    by = deadline(request, state.settings, timeout_ms)
    return (await unless_disconnected(request, state.ready_engine().classify([body], by)))[0]


@router.post("/nli/batch", response_model=NLIBatchResponse, tags=["nli"], **MODEL_ROUTE)
async def nli_batch(
    body: NLIBatchRequest, request: Request, timeout_ms: Timeout = None
) -> NLIBatchResponse:
    """Classify many pairs in one call; results come back in the order of `items`."""
    state = _state(request)
    _check_items(state, len(body.items))
    by = deadline(request, state.settings, timeout_ms)
    results = await unless_disconnected(request, state.ready_engine().classify(body.items, by))
    return NLIBatchResponse(results=results)


HEALTH = {"response_model": Health, "response_model_exclude_none": True, "tags": ["health"]}


@router.get("/health", **HEALTH)
@router.get("/health/ready", responses={503: {"model": Health}}, **HEALTH)
async def ready(request: Request, response: Response) -> Health:
    """200 once the bundle is loaded, verified and warmed up; 503 before that and while draining."""
    health = _state(request).health()
    response.status_code = 200 if health.status == "ready" else 503
    return health


@router.get("/health/live", responses={503: {"model": Health}}, **HEALTH)
async def live(request: Request, response: Response) -> Health:
    """200 while the process can serve; 503 if its batching loop has died (restart it)."""
    engine = _state(request).engine
    if engine is not None and not engine.batcher.alive:
        response.status_code = 503
        return Health(status="broken")
    return Health(status="alive")
