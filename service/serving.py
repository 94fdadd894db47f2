"""One served model version: its session, batcher and engine, and the requests using it.

A route leases the version it resolved (`lease`), synchronously, before it awaits anything, so a
swap never closes a version between a request picking it and using it. A replaced or unloaded
version is drained: no new request reaches it (the registry no longer lists it), and it closes
once its last lease is returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Literal

from road.runtime.models import ModelVersion
from road.runtime.providers import TENSORRT, warmup_batches
from road.runtime.session import Runtime
from road.service.engine import Engine

log = logging.getLogger(__name__)
# The repository extension's model states (index) that a loaded version can be in.
State = Literal["READY", "UNLOADING"]


def build_engines(runtime: Runtime) -> int:
    """Run the TensorRT profile's opt and max shapes, so no engine is built on a live request."""
    trt = runtime.manifest.tensorrt
    if trt is None or runtime.provider != TENSORRT:
        return 0
    batches = warmup_batches(trt.profile)
    for batch in batches:
        runtime.run(batch)
    return len(batches)


class ServedVersion:
    """A loaded model version and how many requests hold it."""

    def __init__(self, entry: ModelVersion, runtime: Runtime, engine: Engine) -> None:
        self.entry = entry
        self.runtime = runtime
        self.engine = engine
        self.state: State = "READY"
        self._leases = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def leases(self) -> int:
        return self._leases

    @contextlib.contextmanager
    def lease(self) -> Iterator[Engine]:
        """Hold this version for one request: it is not closed until every lease is back."""
        self._leases += 1
        self._idle.clear()
        try:
            yield self.engine
        finally:
            self._leases -= 1
            if self._leases == 0:
                self._idle.set()

    async def close(self) -> None:
        """Stop the batcher and the tokenizer threads; the session goes with the last reference."""
        await self.engine.batcher.stop()
        await asyncio.to_thread(self.engine.close)

    async def drain(self) -> None:
        """Wait for the requests holding this version, then close it."""
        self.state = "UNLOADING"
        waiting = self._leases
        await self._idle.wait()
        await self.close()
        log.info(
            "closed model version",
            extra={"model": self.entry.name, "version": self.entry.version, "drained": waiting},
        )


# How a JSON route (/qa, /nli, /v1/tasks/...) names a model other than the default.
MODEL_HEADER = "X-Road-Model"


def named_model(header: str | None) -> tuple[str | None, str | None]:
    """`name` or `name/version` from the X-Road-Model header; (None, None) when absent."""
    if not header or not header.strip():
        return None, None
    name, _, version = header.strip().partition("/")
    return name, version or None
