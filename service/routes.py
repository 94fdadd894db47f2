"""Thin HTTP routes: validate, hand to the engine, return. No error handling here."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from road.core.errors import InputTooLong
from road.service.engine import Engine
from road.service.protocol import (
    Health,
    NLIBatchRequest,
    NLIBatchResponse,
    NLIRequest,
    NLIResponse,
    QABatchRequest,
    QABatchResponse,
    QARequest,
    QAResponse,
)
from road.service.state import AppState

router = APIRouter()


def _engine(request: Request) -> Engine:
    state: AppState = request.app.state.road
    return state.ready_engine()


def _check_items(request: Request, count: int) -> None:
    limit = request.app.state.road.settings.max_batch_items
    if count > limit:
        raise InputTooLong("items", limit, count, unit="items")


@router.post("/qa", response_model=QAResponse, response_model_exclude_none=True, tags=["qa"])
async def qa(body: QARequest, request: Request) -> QAResponse:
    """Answer one question from its context (contexts longer than one window are windowed)."""
    return (await _engine(request).answer([body]))[0]


@router.post(
    "/qa/batch", response_model=QABatchResponse, response_model_exclude_none=True, tags=["qa"]
)
async def qa_batch(body: QABatchRequest, request: Request) -> QABatchResponse:
    """Answer many questions in one call; results come back in the order of `items`."""
    _check_items(request, len(body.items))
    return QABatchResponse(results=await _engine(request).answer(body.items))


@router.post("/nli", response_model=NLIResponse, tags=["nli"])
async def nli(body: NLIRequest, request: Request) -> NLIResponse:
    """Classify one premise/hypothesis pair."""
    return (await _engine(request).classify([body]))[0]


@router.post("/nli/batch", response_model=NLIBatchResponse, tags=["nli"])
async def nli_batch(body: NLIBatchRequest, request: Request) -> NLIBatchResponse:
    """Classify many pairs in one call; results come back in the order of `items`."""
    _check_items(request, len(body.items))
    return NLIBatchResponse(results=await _engine(request).classify(body.items))


@router.get("/health", response_model=Health, response_model_exclude_none=True, tags=["health"])
@router.get(
    "/health/ready", response_model=Health, response_model_exclude_none=True, tags=["health"]
)
async def ready(request: Request, response: Response) -> Health:
    """200 once the bundle is loaded, verified and warmed up; 503 before that and while draining."""
    health = request.app.state.road.health()
    response.status_code = 200 if health.status == "ready" else 503
    return health


@router.get(
    "/health/live", response_model=Health, response_model_exclude_none=True, tags=["health"]
)
async def live() -> Health:
    """200 while the process is up."""
    return Health(status="alive")
