"""The server's lifecycle: load and verify the bundle, warm up, serve, drain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from road.core.errors import NotReady, RoadError
from road.runtime.providers import TENSORRT, warmup_batches
from road.runtime.session import Runtime, SessionOptions
from road.service.batcher import Batcher, RunBatch
from road.service.engine import Engine
from road.service.metrics import Metrics
from road.service.protocol import Health
from road.service.settings import ServerSettings

log = logging.getLogger(__name__)

# A test or an operator may wrap the session's run (fault injection, tracing): run → run.
RunWrapper = Callable[[RunBatch], RunBatch]

__all__ = ["TENSORRT", "AppState", "RunWrapper", "build_engines"]


def build_engines(runtime: Runtime) -> int:
    """Run the TensorRT profile's opt and max shapes, so no engine is built on a live request."""
    trt = runtime.manifest.tensorrt
    if trt is None or runtime.provider != TENSORRT:
        return 0
    batches = warmup_batches(trt.profile)
    for batch in batches:
        runtime.run(batch)
    return len(batches)


class AppState:
    """Holds what the app serves with; routes reach it as `request.app.state.road`."""

    def __init__(self, settings: ServerSettings, wrap_run: RunWrapper | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.engine: Engine | None = None
        self.runtime: Runtime | None = None
        self.ready = False
        self.draining = False
        self._wrap_run = wrap_run

    async def start(self) -> None:
        try:
            self.runtime = runtime = Runtime.load(
                self.settings.bundle, SessionOptions.from_settings(self.settings)
            )
        except RoadError as exc:
            # The bundle failed verification or does not fit: name the file, refuse to start.
            log.error("refusing to start: %s", exc)
            raise
        run = self._wrap_run(runtime.run) if self._wrap_run else runtime.run
        batcher = Batcher(
            run,
            self.settings.batch,
            on_batch=self.metrics.observe_batch,
            on_drop=self.metrics.observe_drop,
            token_outputs=runtime.token_outputs,
        )
        self.metrics.track_queue(lambda: batcher.queued_rows, lambda: batcher.queued_tokens)
        batcher.start()
        self.engine = Engine(runtime, batcher, self.settings, self.metrics)
        built = await asyncio.to_thread(build_engines, runtime)
        if built:
            log.info("built TensorRT engines", extra={"shapes": built})
        # Real forward passes, long and short, so the first client never pays ORT's first-run cost.
        for name, head in runtime.heads.items():
            await self.engine.run_task(name, [head.example()])
        self.metrics.model_info.labels(
            runtime.bundle_sha256, runtime.provider, runtime.manifest.precision
        ).set(1)
        self.ready = True
        log.info(
            "ready",
            extra={
                "bundle": str(self.settings.bundle),
                "bundle_sha256": runtime.bundle_sha256,
                "provider": runtime.provider,
                "precision": runtime.manifest.precision,
            },
        )

    async def stop(self) -> None:
        self.ready = False
        if self.engine is not None:
            await self.engine.batcher.stop()
            self.engine.close()

    def ready_engine(self) -> Engine:
        """The engine, once warm; still served while draining, which refuses nothing it got."""
        if self.engine is None or not self.ready:
            raise NotReady("the model is not loaded yet")
        return self.engine

    def health(self) -> Health:
        runtime = self.runtime
        if runtime is None:
            return Health(status="loading")
        status = "draining" if self.draining else ("ready" if self.ready else "warming_up")
        return Health(
            status=status,
            bundle=runtime.bundle_sha256[:12],
            precision=runtime.manifest.precision,
            provider=runtime.provider,
        )
