"""`road serve`: build settings once, create the app, run uvicorn, drain on SIGTERM.

`main` is the one place `ServerSettings` are built from the command line and the environment;
everything below it (`create_app`, `AppState`, the engine, the routes) is handed them.
"""

from __future__ import annotations

import logging
import logging.config
import math
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from pydantic_settings import SettingsError

from road.service.app import create_app
from road.service.logs import logging_config
from road.service.settings import ServerSettings, settings_from_cli
from road.service.state import AppState, RunWrapper

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn with a drain on SIGTERM, then exit status 0.

    SIGTERM first makes readiness false while the server keeps serving for `drain_delay_s`
    (so load balancers stop routing here), then uvicorn stops accepting and waits up to
    `graceful_timeout_s` for in-flight and queued requests. A second signal exits at once.
    """

    def __init__(self, config: uvicorn.Config, state: AppState, drain_delay_s: float) -> None:
        super().__init__(config)
        self.state = state
        self.drain_delay_s = drain_delay_s
        self._drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_until is None and sig == signal.SIGTERM:
            self.state.draining = True
            self._drain_until = time.monotonic() + self.drain_delay_s
            log.info("SIGTERM: draining", extra={"drain_delay_s": self.drain_delay_s})
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self._drain_until is not None and time.monotonic() >= self._drain_until:
            return True
        return await super().on_tick(counter)


# Exit status for settings that do not parse or validate, as for any usage error.
EXIT_USAGE = 2


def main(args: Sequence[str], wrap_run: RunWrapper | None = None) -> int:
    """`road serve ARGS`: settings from ROAD_* env and flags, then serve; the exit status."""
    try:
        settings = settings_from_cli(args)
    except (ValueError, SettingsError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    serve(settings, wrap_run)
    return 0


def serve(settings: ServerSettings, wrap_run: RunWrapper | None = None) -> None:
    """Run the server until SIGTERM/SIGINT; `wrap_run` is the app's test hook (`create_app`)."""
    config = logging_config(settings.log_level, settings.log_format)
    logging.config.dictConfig(config)
    app = create_app(settings, wrap_run)
    # A bundle that fails verification fails the lifespan startup: uvicorn exits with status 3
    # after AppState.start has logged which file is wrong.
    server_config = uvicorn_config(app, settings, config)
    DrainingServer(server_config, app.state.road, settings.drain_delay_s).run()


def uvicorn_config(
    app: FastAPI, settings: ServerSettings, log_config: dict[str, Any]
) -> uvicorn.Config:
    """uvicorn's settings; "auto" picks uvloop and httptools, which the serving install ships.

    On one core they are worth ~9% throughput over asyncio + h11 (docs/performance.md): the event
    loop and HTTP parsing share the core with the model.
    """
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="auto",
        http="auto",
        log_config=log_config,
        access_log=False,  # ObserveMiddleware writes one structured line per request instead
        timeout_graceful_shutdown=math.ceil(settings.graceful_timeout_s),
    )
