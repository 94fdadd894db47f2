"""The server's lifecycle: load, verify, warm and check each model version; serve; swap; drain.

Every served model version has its own session, batcher and engine (`ServedVersion`). A load
opens the new version beside the old one, and only once it has passed every step (integrity,
session, warmup, golden rows) does one synchronous swap make the registry name it; requests
already holding the old version finish there, and it closes once drained.

Golden rows that drift at start (`golden_check=enforce`) leave the process up but refusing
readiness for good, with the reason; at a load they refuse the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

from road.core.errors import (
    GoldenDrift,
    InvalidInput,
    ModelLoadFailed,
    ModelNotFound,
    NotReady,
    RoadError,
)
from road.runtime.golden import check_golden
from road.runtime.models import ModelRegistry, ModelVersion
from road.runtime.repository import Candidate, Repository
from road.runtime.session import Runtime, SessionOptions
from road.service.batcher import Batcher, RunBatch
from road.service.engine import Engine
from road.service.metrics import Metrics
from road.service.protocol import Health
from road.service.serving import TENSORRT, ServedVersion, build_engines
from road.service.settings import ServerSettings

log = logging.getLogger(__name__)

# A test or an operator may wrap the session's run (fault injection, tracing): run → run.
RunWrapper = Callable[[RunBatch], RunBatch]
NO_REPOSITORY = "this server has no model repository (road serve --model-repository DIR)"

__all__ = ["TENSORRT", "AppState", "RunWrapper", "build_engines"]


class AppState:
    """Holds what the app serves with; routes reach it as `request.app.state.road`."""

    def __init__(self, settings: ServerSettings, wrap_run: RunWrapper | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.repository = Repository(
            settings.model_repository, settings.bundle, settings.model_versions
        )
        self.default_model = self.repository.default_model(settings.default_model)
        self.registry = ModelRegistry()
        self.ready = False
        self.draining = False
        # Why readiness is refused for good (golden rows drifted at start); None: it is not.
        self.refused: str | None = None
        self._served: dict[tuple[str, int], ServedVersion] = {}
        self._retiring: dict[asyncio.Task[None], ServedVersion] = {}
        self._failures: dict[tuple[str, int], str] = {}
        self._lock = asyncio.Lock()
        self._wrap_run = wrap_run

    async def start(self) -> None:
        try:
            for candidate in self.repository.startup():
                opened = await self._start_one(candidate)
                if opened is None:
                    return
                self._swap(opened)
            if not self.registry.serves(self.default_model):
                raise ModelNotFound(f"the default model {self.default_model!r} is not served")
        except RoadError as exc:
            # A bundle failed verification or does not fit: name the file, refuse to start.
            log.error("refusing to start: %s", exc)
            await self.stop()
            raise
        self.ready = True
        log.info("ready", extra={"models": self.registry.names(), "default": self.default_model})

    async def stop(self) -> None:
        self.ready = False
        for task in self._retiring:
            task.cancel()
        for served in [*self._served.values(), *self._retiring.values()]:
            await served.close()

    async def _start_one(self, candidate: Candidate) -> ServedVersion | None:
        """Open a version at start; None when its golden rows drift (readiness refused)."""
        try:
            return await self._open(candidate)
        except ModelLoadFailed as exc:
            if not isinstance(exc.__cause__, GoldenDrift):
                raise
            self.refused = str(exc)
            log.error("refusing readiness: %s", exc)
            return None

    async def load(self, name: str, version: int | None = None) -> ModelVersion:
        """Open, verify, warm and check a version of `name`, then serve it instead of the old."""
        if not self.repository.managed:
            raise InvalidInput(NO_REPOSITORY)
        async with self._lock:
            candidate = self.repository.choose(name, version)
            key = (candidate.name, candidate.version)
            try:
                served = await self._open(candidate)
            except ModelLoadFailed as exc:
                self._failures[key] = str(exc)
                log.error("load refused, the served version stays: %s", exc)
                raise
            self._failures.pop(key, None)
            self._swap(served)
            return served.entry

    async def unload(self, name: str) -> list[ModelVersion]:
        """Serve no version of `name`; each drains, then closes. Unloaded already: a no-op."""
        if not self.repository.managed:
            raise InvalidInput(NO_REPOSITORY)
        async with self._lock:
            if not self.registry.serves(name) and name not in self.repository.models():
                raise ModelNotFound(f"no model {name!r} is loaded or in the repository")
            removed = self.registry.remove(name)
            for entry in removed:
                self._retire(self._served.pop((entry.name, entry.version)))
            self.metrics.unloaded(name)
            log.info("unloaded model", extra={"model": name, "versions": len(removed)})
            return removed

    @contextlib.contextmanager
    def lease(self, name: str | None = None, version: str | None = None) -> Iterator[ServedVersion]:
        """The served version asked for (default: the default model's), held for one request."""
        entry = self.resolve(name, version)
        served = self._served[(entry.name, entry.version)]
        with served.lease():
            yield served

    def resolve(self, name: str | None = None, version: str | None = None) -> ModelVersion:
        """The served version asked for; `NotReady`, with the reason, while not ready."""
        if not self.ready:
            raise NotReady(self.refused or "the model is not loaded yet")
        return self.registry.resolve(name or self.default_model, version)

    def states(self) -> dict[tuple[str, int], tuple[str, str]]:
        """(state, reason) of every model version on disk or loaded, for the repository index."""
        rows = {
            (name, version): ("UNAVAILABLE", self._failures.get((name, version), "not loaded"))
            for name, versions in self.repository.models().items()
            for version in versions
        }
        for served in self._retiring.values():
            key = (served.entry.name, served.entry.version)
            rows[key] = ("UNLOADING", f"draining {served.leases} requests")
        for key in self._served:
            rows[key] = ("READY", "")
        return dict(sorted(rows.items()))

    @property
    def engine(self) -> Engine | None:
        """The default model's engine; None before it is loaded or after it is unloaded."""
        served = self._default()
        return served.engine if served is not None else None

    @property
    def runtime(self) -> Runtime | None:
        served = self._default()
        return served.runtime if served is not None else None

    def alive(self) -> bool:
        """Every served version's batching loops run (before the first load: alive)."""
        return all(served.engine.batcher.alive for served in self._served.values())

    def ready_engine(self) -> Engine:
        """The default model's engine, once warm (unleased: for callers outside a request)."""
        served = self._default()
        if served is None or not self.ready:
            raise NotReady(self.refused or "the model is not loaded yet")
        return served.engine

    def health(self) -> Health:
        if self.refused is not None:
            return Health(status="refused", detail=self.refused)
        runtime = self.runtime
        if runtime is None:
            return Health(status="unloaded" if self.ready else "loading")
        status = "draining" if self.draining else ("ready" if self.ready else "warming_up")
        return Health(
            status=status,
            bundle=runtime.bundle_sha256[:12],
            precision=runtime.manifest.precision,
            provider=runtime.provider,
        )

    def _default(self) -> ServedVersion | None:
        if not self.registry.serves(self.default_model):
            return None
        entry = self.registry.resolve(self.default_model)
        return self._served.get((entry.name, entry.version))

    def _swap(self, served: ServedVersion) -> None:
        """Serve `served` in one synchronous step; the versions it replaces drain."""
        entry = served.entry
        self.registry.replace(entry)
        replaced = [v for key, v in self._served.items() if key[0] == entry.name]
        self._served = {k: v for k, v in self._served.items() if k[0] != entry.name}
        self._served[(entry.name, entry.version)] = served
        batcher, runtime = served.engine.batcher, served.runtime
        self.metrics.track_queue(
            entry.name, lambda: batcher.queued_rows, lambda: batcher.queued_tokens
        )
        self.metrics.serving(
            entry.name, entry.version, runtime.bundle_sha256, runtime.provider,
            runtime.manifest.precision,
        )  # fmt: skip
        for old in replaced:
            self._retire(old)

    def _retire(self, served: ServedVersion) -> None:
        task = asyncio.get_running_loop().create_task(served.drain(), name="road-drain")
        self._retiring[task] = served
        task.add_done_callback(lambda done: self._retiring.pop(done, None))

    async def _open(self, candidate: Candidate) -> ServedVersion:
        """Every step of a load; any failure closes what it opened and names the reason."""
        name, version = candidate.name, candidate.version
        opened: ServedVersion | None = None
        try:
            opened = await self._warm(candidate)
            golden = await self._golden(opened.runtime)
        except Exception as exc:  # noqa: BLE001 - whatever a new bundle breaks, the old one serves
            if opened is not None:
                await opened.close()
            self.metrics.loads.labels(name, "failed").inc()
            reason = str(exc) or type(exc).__name__
            raise ModelLoadFailed(f"model {name!r} version {version}: {reason}") from exc
        self.metrics.loads.labels(name, "loaded").inc()
        runtime = opened.runtime
        log.info(
            "loaded model version",
            extra={
                "model": name, "version": version, "bundle": str(candidate.path),
                "bundle_sha256": runtime.bundle_sha256, "provider": runtime.provider,
                "precision": runtime.manifest.precision, "golden": golden,
            },
        )  # fmt: skip
        return opened

    async def _golden(self, runtime: Runtime) -> str:
        """The golden rows' verdict: raises `GoldenDrift` unless the check is off or warn."""
        if self.settings.golden_check == "off":
            return "off"
        try:
            return (await asyncio.to_thread(check_golden, runtime)).status
        except GoldenDrift:
            if self.settings.golden_check == "enforce":
                raise
            log.warning("golden rows drift; serving anyway (golden_check=warn)")
            return "drift"

    async def _warm(self, candidate: Candidate) -> ServedVersion:
        """Verify and open the bundle, start its batcher, and run real requests through it."""
        options = SessionOptions.from_settings(self.settings)
        runtime = await asyncio.to_thread(Runtime.load, candidate.path, options)
        observer = self.metrics.for_model(candidate.name)
        run = self._wrap_run(runtime.run) if self._wrap_run else runtime.run
        batcher = Batcher(
            run,
            self.settings.batch,
            on_batch=observer.observe_batch,
            on_drop=observer.observe_drop,
            token_outputs=runtime.token_outputs,
        )
        batcher.start()
        engine = Engine(runtime, batcher, self.settings, observer)
        tasks = tuple(runtime.manifest.tasks.specs())
        entry = ModelVersion(candidate.name, candidate.version, tasks, path=candidate.path)
        served = ServedVersion(entry, runtime, engine)
        try:
            built = await asyncio.to_thread(build_engines, runtime)
            if built:
                log.info("built TensorRT engines", extra={"shapes": built})
            # Real forward passes, long and short, so the first client never pays ORT's first run.
            for task, head in runtime.heads.items():
                await engine.run_task(task, [head.example()])
        except BaseException:
            await served.close()
            raise
        return served
