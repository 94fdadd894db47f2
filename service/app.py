"""`create_app`: the FastAPI application, wired from settings passed in (never read globally)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import road
from road.service.errors import install_error_handlers
from road.service.routes import router
from road.service.settings import ServerSettings
from road.service.state import AppState


def create_app(settings: ServerSettings) -> FastAPI:
    state = AppState(settings)

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
        summary="Extractive QA and NLI from one shared encoder",
    )
    app.state.road = state
    app.include_router(router)
    install_error_handlers(app)

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        with state.metrics.in_flight.track_inprogress():
            response = await call_next(request)
        endpoint = request.scope.get("route").path if request.scope.get("route") else "unmatched"  # type: ignore[union-attr]
        state.metrics.requests.labels(endpoint, str(response.status_code)).inc()
        state.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
