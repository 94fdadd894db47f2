"""`road serve`: build settings once, create the app, run uvicorn."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import uvicorn

from road.service.app import create_app
from road.service.settings import ServerSettings
from road.service.state import AppState


class DrainingServer(uvicorn.Server):
    """uvicorn, with readiness dropped on SIGTERM and exit status 0 after a clean drain."""

    def __init__(self, config: uvicorn.Config, state: AppState) -> None:
        super().__init__(config)
        self.state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.state.draining = True
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and sig in self._captured_signals:
            # uvicorn re-raises a captured SIGTERM after shutting down, so the process would
            # die with -15 even after a clean drain; orchestrators read that as a failure.
            self._captured_signals.remove(sig)


def serve(settings: ServerSettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
    )
    DrainingServer(config, app.state.road).run()
