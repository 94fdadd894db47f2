"""The server's lifecycle: load and verify the bundle, warm up, serve, drain."""

from __future__ import annotations

import logging

from road.core.errors import NotReady
from road.service.batcher import Batcher
from road.service.engine import Engine
from road.service.metrics import Metrics
from road.service.protocol import Health, NLIRequest, QARequest
from road.service.runtime import Runtime, SessionOptions
from road.service.settings import ServerSettings

log = logging.getLogger(__name__)

WARMUP_QA = QARequest(
    question="Who wrote the report?",
    context="The report was written by the committee in 2020. " * 40,
)
WARMUP_NLI = NLIRequest(premise="A man is playing a guitar.", hypothesis="A person plays music.")


class AppState:
    """Holds what the app serves with; routes reach it as `request.app.state.road`."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.engine: Engine | None = None
        self.ready = False
        self.draining = False

    async def start(self) -> None:
        runtime = Runtime.load(
            self.settings.bundle, SessionOptions(intra_op_threads=self.settings.intra_op_threads)
        )
        batcher = Batcher(runtime.run, self.settings.batch, on_batch=self.metrics.observe_batch)
        batcher.start()
        self.engine = Engine(runtime, batcher, self.settings)
        # Real forward passes, long and short, so the first client never pays ORT's first-run cost.
        await self.engine.answer([WARMUP_QA])
        await self.engine.classify([WARMUP_NLI])
        provider = runtime.session.get_providers()[0]
        self.metrics.model_info.labels(
            runtime.bundle_sha256, provider, runtime.manifest.precision
        ).set(1)
        self.ready = True
        log.info("ready: bundle=%s provider=%s", self.settings.bundle, provider)

    async def stop(self) -> None:
        self.ready = False
        if self.engine is not None:
            await self.engine.batcher.stop()
            self.engine.close()

    def ready_engine(self) -> Engine:
        if self.engine is None or not self.ready:
            raise NotReady("the model is not loaded yet")
        return self.engine

    def health(self) -> Health:
        if self.engine is None:
            return Health(status="loading")
        runtime = self.engine.runtime
        status = "draining" if self.draining else ("ready" if self.ready else "warming_up")
        return Health(
            status=status,
            bundle=runtime.bundle_sha256[:12],
            precision=runtime.manifest.precision,
            provider=runtime.session.get_providers()[0],
        )
