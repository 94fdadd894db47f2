"""The Open Inference Protocol's model repository extension: index, load, unload.

A load chooses the version by the request (`parameters.version`, or a Triton `config` whose
`version_policy` is `specific` with one version), else by the pin (`model_versions`), else the
highest on disk; it answers once the new version serves, and the old one drains behind it.
Failures come back as `{"error": "..."}` naming the reason (service/errors.py); the routes are
behind the API keys like every other path that is not exempt.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from road.core.errors import InvalidInput
from road.service.state import AppState

VERSION_PARAMETER = "version"
CONFIG_PARAMETER = "config"
# Parameters a client may send that change nothing here.
IGNORED = {"unload_dependents"}


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ready: bool = False
    parameters: dict[str, Any] = Field(default_factory=dict)


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.road
    return state


async def _body(request: Request) -> _Body:
    raw = await request.body()
    if not raw.strip():
        return _Body()
    try:
        return _Body.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(f"the body must be a JSON object: {exc}") from exc


def _as_version(value: Any, where: str) -> int:
    if isinstance(value, bool) or not str(value).isdigit():
        raise InvalidInput(f"{where} must be a version number, not {value!r}")
    return int(value)


def _config_version(config: Any) -> int | None:
    """The one version a Triton model config's `version_policy` names; None: the default."""
    try:
        parsed = json.loads(config) if isinstance(config, str) else config
    except ValueError as exc:
        raise InvalidInput(f"parameters.config is not JSON: {exc}") from exc
    if not isinstance(parsed, dict) or set(parsed) - {"version_policy", "name"}:
        raise InvalidInput("parameters.config: only version_policy is supported")
    policy = parsed.get("version_policy") or {}
    if "latest" in policy or "all" in policy or not policy:
        return None
    versions = (policy.get("specific") or {}).get("versions") or []
    if len(versions) != 1:
        raise InvalidInput("parameters.config: version_policy.specific must name one version")
    return _as_version(versions[0], "version_policy.specific.versions[0]")


def requested_version(parameters: dict[str, Any]) -> int | None:
    """The version a load call asks for, if any; unsupported parameters are refused."""
    unknown = sorted(set(parameters) - {VERSION_PARAMETER, CONFIG_PARAMETER} - IGNORED)
    if unknown:
        raise InvalidInput(f"load parameters {', '.join(unknown)} are not supported")
    if VERSION_PARAMETER in parameters:
        return _as_version(parameters[VERSION_PARAMETER], "parameters.version")
    if CONFIG_PARAMETER in parameters:
        return _config_version(parameters[CONFIG_PARAMETER])
    return None


def repository_router() -> APIRouter:
    """POST /v2/repository/index, /v2/repository/models/{model}/load and .../unload."""
    repo = APIRouter(prefix="/v2/repository", include_in_schema=False, tags=["v2"])

    @repo.post("/index")
    async def index(request: Request) -> list[dict[str, str]]:
        body = await _body(request)
        return [
            {"name": name, "version": str(version), "state": state, "reason": reason}
            for (name, version), (state, reason) in _state(request).states().items()
            if state == "READY" or not body.ready
        ]

    @repo.post("/models/{model}/load")
    async def load(model: str, request: Request) -> Response:
        version = requested_version((await _body(request)).parameters)
        await _state(request).load(model, version)
        return Response(status_code=200)

    @repo.post("/models/{model}/unload")
    async def unload(model: str, request: Request) -> Response:
        await _body(request)
        await _state(request).unload(model)
        return Response(status_code=200)

    return repo
