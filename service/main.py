"""`road serve`: build settings once, create the app, run uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from road.service.app import create_app
from road.service.settings import ServerSettings


def serve(settings: ServerSettings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
    )
