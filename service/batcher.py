"""Dynamic batcher: rows of concurrent requests, QA windows and NLI pairs alike, share one run.

Rows wait in one queue. A batch closes when it reaches `max_batch_size` rows, when one more row
would push its padded size past `max_batch_tokens`, or `max_wait_ms` after its first row
arrived. Each batch is padded only to its own longest row, runs once, and every row's slice of
every output goes back to the request that submitted it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from road.core.rows import Row, pad_rows, row_outputs
from road.service.settings import BatchSettings

RunBatch = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
RowOutput = dict[str, np.ndarray]


@dataclass(frozen=True)
class BatchStats:
    rows: int
    padded_tokens: int
    real_tokens: int
    queue_waits_s: tuple[float, ...] = ()


@dataclass(eq=False)
class _Pending:
    row: Row
    future: asyncio.Future[RowOutput] = field(repr=False)
    queued_at: float = 0.0


class Batcher:
    """Owns the queue and the single worker that feeds the session one batch at a time."""

    def __init__(
        self,
        run: RunBatch,
        settings: BatchSettings,
        on_batch: Callable[[BatchStats], None] | None = None,
    ) -> None:
        self._run = run
        self._settings = settings
        self._on_batch = on_batch
        self._queue: collections.deque[_Pending] = collections.deque()
        self._arrived = asyncio.Event()
        # One thread: ORT parallelises inside a run, and runs must not overlap.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="road-session")
        self._worker: asyncio.Task[None] | None = None

    @property
    def queued_rows(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._loop(), name="road-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=True)

    async def submit(self, rows: Sequence[Row]) -> list[RowOutput]:
        """Queue rows and wait for their outputs, in order."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        pending = [_Pending(row, loop.create_future(), now) for row in rows]
        self._queue.extend(pending)
        self._arrived.set()
        return list(await asyncio.gather(*(p.future for p in pending)))

    async def _loop(self) -> None:
        while True:
            batch = await self._next_batch()
            await self._execute(batch)

    async def _next_batch(self) -> list[_Pending]:
        while not self._queue:
            self._arrived.clear()
            await self._arrived.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.max_wait_ms / 1000
        while not self._full() and (remaining := deadline - loop.time()) > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return self._take()

    def _full(self) -> bool:
        return (
            len(self._queue) >= self._settings.max_batch_size
            or _padded_tokens(self._queue) >= self._settings.max_batch_tokens
        )

    def _take(self) -> list[_Pending]:
        """Pop rows in arrival order while the batch stays within both limits (at least one)."""
        batch = [self._queue.popleft()]
        longest = len(batch[0].row)
        while self._queue and len(batch) < self._settings.max_batch_size:
            candidate = max(longest, len(self._queue[0].row))
            if candidate * (len(batch) + 1) > self._settings.max_batch_tokens:
                break
            batch.append(self._queue.popleft())
            longest = candidate
        return [p for p in batch if not p.future.cancelled()]

    async def _execute(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        inputs = pad_rows([p.row for p in batch])
        started = asyncio.get_running_loop().time()
        waits = tuple(started - p.queued_at for p in batch)
        try:
            outputs = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run, inputs
            )
        except Exception as exc:  # noqa: BLE001 - the batch's requests get the error, the loop lives on
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        if self._on_batch is not None:
            real = sum(len(p.row) for p in batch)
            self._on_batch(BatchStats(len(batch), int(inputs["input_ids"].size), real, waits))
        for j, p in enumerate(batch):
            if not p.future.done():
                p.future.set_result(row_outputs(outputs, j, len(p.row)))


def _padded_tokens(queue: collections.deque[_Pending]) -> int:
    return max((len(p.row) for p in queue), default=0) * len(queue)
