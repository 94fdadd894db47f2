"""`create_app`: the FastAPI application, wired from settings passed in (never read globally)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import road
from road.core.bundle import load_manifest
from road.core.errors import RoadError
from road.core.tasks import TaskSpec
from road.service.errors import install_error_handlers
from road.service.middleware import AuthMiddleware, BodyLimitMiddleware, ObserveMiddleware
from road.service.routes import router, task_router
from road.service.settings import ServerSettings
from road.service.state import AppState, RunWrapper
from road.service.v2_repository import repository_router
from road.service.v2_routes import v2_router


def create_app(settings: ServerSettings, wrap_run: RunWrapper | None = None) -> FastAPI:
    """The app; `wrap_run` wraps the session's run (the hook tests use to inject failures)."""
    state = AppState(settings, wrap_run)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="road",
        version=road.__version__,
        lifespan=lifespan,
        summary="Every task of the bundle (extractive QA, NLI, ...) from one shared encoder",
    )
    app.state.road = state
    app.include_router(task_router(default_tasks(state)))
    app.include_router(router)
    app.include_router(v2_router())
    app.include_router(repository_router())
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    keys = settings.load_api_keys()
    if keys:
        app.add_middleware(AuthMiddleware, keys=keys, exempt=settings.auth_exempt_paths)
    # Added last, so outermost: every response, a 401 included, carries the request id.
    app.add_middleware(ObserveMiddleware, metrics=state.metrics, log_access=settings.access_log)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def default_tasks(state: AppState) -> list[TaskSpec]:
    """The default model's tasks, for the JSON routes; none when it does not read (start refuses).

    The routes are made once: a version loaded later with other tasks answers those it shares
    with these, and 404 for the others; every task of every model is on /v2 infer.
    """
    try:
        candidate = state.repository.choose(state.default_model)
        return load_manifest(candidate.path, verify=False).tasks.specs()
    except RoadError:
        return []
