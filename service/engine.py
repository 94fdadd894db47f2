"""The request pipeline without HTTP: admit → tokenize → batch → run → decode.

Tokenization and decoding run on worker threads so the event loop only routes. Each request is
one batcher job; a QA request's windows may run in several batches and are decoded together
once the last one is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import numpy as np

from road.core.bundle import NLITaskInfo, QATaskInfo
from road.core.errors import DeadlineExceeded, Overloaded
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder, QAWindow
from road.core.rows import Row
from road.runtime.heads import check_nli, check_qa, nli_responses, qa_response
from road.runtime.protocol import NLIRequest, NLIResponse, QARequest, QAResponse
from road.service.batcher import Batcher, RowOutput
from road.service.settings import ServerSettings

T = TypeVar("T")


class Model(Protocol):
    """What the engine needs from a runtime: encoders and task info (runs go via the batcher)."""

    qa_encoder: QAEncoder
    nli_encoder: NLIEncoder
    qa: QATaskInfo
    nli: NLITaskInfo

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


class StageObserver(Protocol):
    def observe_stage(self, stage: str, task: str, seconds: float) -> None: ...


class Engine:
    """Answers QA and NLI requests through one shared batcher and session."""

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

    async def answer(
        self, items: Sequence[QARequest], deadline: float = math.inf
    ) -> list[QAResponse]:
        for item in items:
            check_qa(item, self.settings.max_question_chars, self.settings.max_context_chars)
        with self._admitted():
            encoder = self.runtime.qa_encoder
            windows: list[list[QAWindow]] = await self._stage(
                "tokenize", "qa", encoder.encode, [i.question for i in items],
                [i.context for i in items],
            )
            flat = [w for per_item in windows for w in per_item]
            outputs = await self._infer(flat, "qa", deadline)
            return await self._stage("postprocess", "qa", self._decode_all, items, windows, outputs)

    async def classify(
        self, items: Sequence[NLIRequest], deadline: float = math.inf
    ) -> list[NLIResponse]:
        for item in items:
            check_nli(item, self.settings.max_nli_chars)
        with self._admitted():
            encoder = self.runtime.nli_encoder
            rows = await self._stage(
                "tokenize", "nli", encoder.encode, [i.premise for i in items],
                [i.hypothesis for i in items],
            )
            outputs = await self._infer(rows, "nli", deadline)
            return await self._stage("postprocess", "nli", nli_responses, outputs)

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

    def _decode_all(
        self, items: Sequence[QARequest], windows: list[list[QAWindow]], outputs: list[RowOutput]
    ) -> list[QAResponse]:
        results, cursor = [], 0
        for item, item_windows in zip(items, windows):
            mine = outputs[cursor : cursor + len(item_windows)]
            cursor += len(item_windows)
            results.append(qa_response(item, item_windows, mine, self.runtime.qa))
        return results
