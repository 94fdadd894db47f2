"""Thin HTTP routes: validate, hand to the engine, return. No error handling here.

Every task the bundle lists gets `POST /v1/tasks/{task}` and `/v1/tasks/{task}/batch`, with
OpenAPI schemas from its definition; the default tasks keep their `/qa` and `/nli` aliases.
A task the bundle does not hold has no route, so it answers 404 (problem+json).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from road.core.errors import InputTooLong
from road.core.tasks import NLI, QA, TaskKind, TaskSpec
from road.runtime.protocol import Schema, task_schemas
from road.service.errors import problem_responses
from road.service.guard import TIMEOUT_HEADER, deadline, unless_disconnected
from road.service.protocol import Health, batch_schemas
from road.service.serving import MODEL_HEADER, named_model
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
# The default tasks' routes from before tasks were data: the same requests and answers.
ALIASES: dict[str, str] = {QA.name: "/qa", NLI.name: "/nli"}


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.road
    return state


def check_items(state: AppState, count: int) -> None:
    """The batch routes' (and v2 infer's) limit on the items of one request."""
    if count > state.settings.max_batch_items:
        raise InputTooLong("items", state.settings.max_batch_items, count, unit="items")


def _docs(spec: TaskSpec) -> tuple[str, str]:
    """The single and batch routes' descriptions, by kind."""
    if spec.kind is TaskKind.SPAN_EXTRACTION:
        return (
            "Answer one question from its context (contexts longer than one window are windowed).",
            "Answer many questions in one call; results come back in the order of `items`.",
        )
    unit = "pair" if len(spec.fields) == 2 else "text"
    return (
        f"Classify one {'/'.join(spec.fields)} {unit}.",
        f"Classify many {unit}s in one call; results come back in the order of `items`.",
    )


def _endpoint(
    task: str, body: type[Schema], wrap: type[Schema] | None, doc: str
) -> Callable[..., Any]:
    """A route function for one task; `wrap` is the batch response model (None: single)."""

    async def endpoint(body: Any, request: Request, timeout_ms: float | None = None) -> Any:
        state = _state(request)
        items = body.items if wrap is not None else [body]
        if wrap is not None:
            check_items(state, len(items))
        by = deadline(request, state.settings, timeout_ms)
        with state.lease(*named_model(request.headers.get(MODEL_HEADER))) as served:
            work = served.engine.run_task(task, items, by)
            results = await unless_disconnected(request, work)
        return wrap(results=results) if wrap is not None else results[0]

    params = [
        inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=body),
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter(
            "timeout_ms", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Timeout, default=None
        ),
    ]
    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__doc__ = doc
    return endpoint


def task_router(specs: Sequence[TaskSpec]) -> APIRouter:
    """The model routes of these tasks: /v1/tasks/{task}[/batch], plus the default aliases."""
    tasks = APIRouter()
    for spec in specs:
        request, response = task_schemas(spec)
        batch_request, batch_response = batch_schemas(spec.name, request, response)
        single_doc, batch_doc = _docs(spec)
        paths = [(f"/v1/tasks/{spec.name}", f"task_{spec.name}")]
        if spec.name in ALIASES:
            paths.append((ALIASES[spec.name], spec.name))
        for path, name in paths:
            tasks.add_api_route(
                path, _endpoint(spec.name, request, None, single_doc), methods=["POST"],
                response_model=response, tags=[spec.name], name=name, **MODEL_ROUTE,
            )  # fmt: skip
            tasks.add_api_route(
                f"{path}/batch", _endpoint(spec.name, batch_request, batch_response, batch_doc),
                methods=["POST"], response_model=batch_response, tags=[spec.name],
                name=f"{name}_batch", **MODEL_ROUTE,
            )  # fmt: skip
    return tasks


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
    if not _state(request).alive():
        response.status_code = 503
        return Health(status="broken")
    return Health(status="alive")
