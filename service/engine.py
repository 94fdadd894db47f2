"""The request pipeline without HTTP: admit → tokenize → batch → run → decode.

Tokenization and decoding run on worker threads so the event loop only routes. Each request is
one batcher job; a span request's windows may run in several batches and are decoded together
once the last one is back. Each task's head (`road.runtime.heads`) does its own limits,
tokenization and decoding; the engine only loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import numpy as np

from road.core.errors import DeadlineExceeded, Overloaded, TaskNotFound
from road.core.rows import Row, RowOutput
from road.core.tasks import NLI, QA
from road.runtime.heads import Head
from road.runtime.protocol import NLIRequest, NLIResponse, QARequest, QAResponse, Schema
from road.service.batcher import Batcher
from road.service.settings import ServerSettings

T = TypeVar("T")


class Model(Protocol):
    """What the engine needs from a runtime: its task heads (runs go via the batcher)."""

    heads: Mapping[str, Head]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


class StageObserver(Protocol):
    def observe_stage(self, stage: str, task: str, seconds: float) -> None: ...


class Engine:
    """Answers every task's requests through one shared batcher and session."""

    def __init__(
        self,
        runtime: Model,
        batcher: Batcher,
        settings: ServerSettings,
        observer: StageObserver | None = None,
    ) -> None:
        self.runtime = runtime
        self.batcher = batcher
        self.settings = settings
        self._observer = observer
        self._active = 0
        self._cpu = ThreadPoolExecutor(settings.tokenizer_threads, thread_name_prefix="road-cpu")

    def close(self) -> None:
        self._cpu.shutdown(wait=True)

    @property
    def active(self) -> int:
        """Model requests between admission and response."""
        return self._active

    def head(self, task: str) -> Head:
        """The task's head; `TaskNotFound` (404) when the bundle does not hold it."""
        head = self.runtime.heads.get(task)
        if head is None:
            raise TaskNotFound(task, tuple(self.runtime.heads))
        return head

    async def run_task(
        self, task: str, items: Sequence[Any], deadline: float = math.inf
    ) -> list[Schema]:
        """Answer items of one task, in order: limits, tokenize, batch and run, decode."""
        head = self.head(task)
        for item in items:
            head.check(item, self.settings)
        with self._admitted():
            rows: list[list[Row]] = await self._stage(
                "tokenize", task, head.encode, items, self.settings
            )
            flat = [row for per_item in rows for row in per_item]
            outputs = await self._infer(flat, task, deadline)
            return await self._stage("postprocess", task, head.decode, items, rows, outputs)

    async def answer(
        self, items: Sequence[QARequest], deadline: float = math.inf
    ) -> list[QAResponse]:
        """The /qa alias."""
        return await self.run_task(QA.name, items, deadline)

    async def classify(
        self, items: Sequence[NLIRequest], deadline: float = math.inf
    ) -> list[NLIResponse]:
        """The /nli alias."""
        return await self.run_task(NLI.name, items, deadline)

    @contextlib.contextmanager
    def _admitted(self) -> Iterator[None]:
        """Refuse at once, before any work, when the server is already at its bounds."""
        if self._active >= self.settings.max_in_flight or self.batcher.saturated():
            raise Overloaded(self.batcher.retry_after_s())
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1

    async def _infer(self, rows: Sequence[Row], task: str, deadline: float) -> list[RowOutput]:
        if time.monotonic() >= deadline:
            raise DeadlineExceeded()
        return await self.batcher.submit(rows, task, deadline)

    async def _stage(self, stage: str, task: str, fn: Callable[..., T], *args: Any) -> T:
        started = time.perf_counter()
        result = await asyncio.get_running_loop().run_in_executor(self._cpu, fn, *args)
        if self._observer is not None:
            self._observer.observe_stage(stage, task, time.perf_counter() - started)
        return result
