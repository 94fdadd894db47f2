"""Open Inference Protocol v2 REST: health, server and model metadata, readiness, inference.

Inference goes through the same engine, batcher, limits and deadlines as the JSON routes, on the
served version of the model named (`AppState.lease`). The repository extension's routes are in
`road.service.v2_repository`.
Errors come back as `{"error": "..."}` (service/errors.py). The routes stay out of the OpenAPI
page: the protocol is specified elsewhere, and the tensors' body is not a JSON schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

import road
from road.core.errors import InvalidInput, NotReady
from road.runtime.models import ModelRegistry, ModelVersion
from road.service.guard import deadline, unless_disconnected
from road.service.routes import Timeout, check_items
from road.service.state import AppState
from road.service.v2_codec import (
    HEADER_LENGTH,
    InferRequest,
    Tensor,
    parse_request,
    render_response,
)
from road.service.v2_tasks import (
    choose_task,
    items,
    output_tensors,
    task_parameters,
    tensor_metadata,
)

EXTENSIONS = ["binary_tensor_data", "model_repository"]
# tritonclient's `timeout` request parameter, in microseconds.
TIMEOUT_PARAMETER = "timeout"


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.road
    return state


def _timeout_ms(header_ms: float | None, parsed: InferRequest) -> float | None:
    """The X-Request-Timeout-Ms header, else the request's `timeout` parameter."""
    if header_ms is not None:
        return header_ms
    given = parsed.parameters.get(TIMEOUT_PARAMETER)
    if given is None:
        return None
    if isinstance(given, bool) or not isinstance(given, int | float) or given <= 0:
        raise InvalidInput(f"parameters.timeout must be a positive number of µs, not {given!r}")
    return float(given) / 1000


def _requested(tensors: list[Tensor], parsed: InferRequest) -> list[Tensor]:
    if parsed.outputs is None:
        return tensors
    names = [tensor.name for tensor in tensors]
    unknown = sorted(set(parsed.outputs) - set(names))
    if unknown:
        raise InvalidInput(f"no output {', '.join(unknown)} (outputs: {', '.join(names)})")
    return [tensor for tensor in tensors if tensor.name in parsed.outputs]


async def _infer(
    model: str, version: str | None, request: Request, timeout_ms: float | None
) -> Response:
    state = _state(request)
    state.resolve(model, version)  # an unknown model is 404 before the body is read
    parsed = parse_request(await request.body(), request.headers.get(HEADER_LENGTH))
    with state.lease(model, version) as leased:
        served = leased.entry
        spec = choose_task(served, parsed)
        rows = items(spec, parsed)
        check_items(state, len(rows))
        by = deadline(request, state.settings, _timeout_ms(timeout_ms, parsed))
        work = leased.engine.run_task(spec.name, rows, by)
        responses = await unless_disconnected(request, work)
    header: dict[str, Any] = {
        "model_name": served.name,
        "model_version": str(served.version),
        "parameters": {"task": spec.name},
        **({"id": parsed.id} if parsed.id is not None else {}),
    }
    tensors = _requested(output_tensors(spec, responses), parsed)
    body, length = render_response(header, tensors, parsed.binary)
    if length is None:
        return Response(body, media_type="application/json")
    return Response(
        body, media_type="application/octet-stream", headers={HEADER_LENGTH: str(length)}
    )


def _metadata(registry: ModelRegistry, served: ModelVersion) -> dict[str, Any]:
    inputs, outputs = tensor_metadata(served)
    return {
        "name": served.name,
        "versions": [str(v) for v in registry.versions(served.name)],
        "platform": served.platform,
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"tasks": task_parameters(served)},
    }


def _model_ready(request: Request, model: str, version: str | None) -> JSONResponse:
    state = _state(request)
    if state.refused is not None:
        raise NotReady(state.refused)
    served = state.registry.resolve(model, version)
    ready = state.ready and not state.draining
    body = {"name": served.name, "version": str(served.version), "ready": ready}
    return JSONResponse(body, status_code=200 if ready else 503)


def _registry(request: Request) -> ModelRegistry:
    return _state(request).registry


def v2_router() -> APIRouter:
    """The protocol's routes over the models the app serves (its state's registry)."""
    v2 = APIRouter(prefix="/v2", include_in_schema=False, tags=["v2"])

    @v2.get("")
    async def server_metadata() -> dict[str, Any]:
        return {"name": "road", "version": road.__version__, "extensions": EXTENSIONS}

    @v2.get("/health/live")
    async def live(request: Request) -> JSONResponse:
        alive = _state(request).alive()
        return JSONResponse({"live": alive}, status_code=200 if alive else 503)

    @v2.get("/health/ready")
    async def ready(request: Request) -> JSONResponse:
        is_ready = _state(request).health().status == "ready"
        return JSONResponse({"ready": is_ready}, status_code=200 if is_ready else 503)

    @v2.get("/models/{model}")
    async def model_metadata(model: str, request: Request) -> dict[str, Any]:
        registry = _registry(request)
        return _metadata(registry, registry.resolve(model))

    @v2.get("/models/{model}/versions/{version}")
    async def version_metadata(model: str, version: str, request: Request) -> dict[str, Any]:
        registry = _registry(request)
        return _metadata(registry, registry.resolve(model, version))

    @v2.get("/models/{model}/ready")
    async def model_ready(model: str, request: Request) -> JSONResponse:
        return _model_ready(request, model, None)

    @v2.get("/models/{model}/versions/{version}/ready")
    async def version_ready(model: str, version: str, request: Request) -> JSONResponse:
        return _model_ready(request, model, version)

    @v2.post("/models/{model}/infer")
    async def infer(model: str, request: Request, timeout_ms: Timeout = None) -> Response:
        return await _infer(model, None, request, timeout_ms)

    @v2.post("/models/{model}/versions/{version}/infer")
    async def version_infer(
        model: str, version: str, request: Request, timeout_ms: Timeout = None
    ) -> Response:
        return await _infer(model, version, request, timeout_ms)

    return v2
