"""Dynamic batcher: rows of concurrent requests, of every task alike, share one run.

Rows wait in one bounded queue. A former task packs the oldest rows by length
(`scheduling.choose_batch`) and pads the next batch while the session runs the current one; a
runner task feeds the session one batch at a time on its own thread. Every row's slice of every
output goes back to its job; a job completes when its last row is back, whichever batch it ran in.
Rows of jobs that are gone (deadline passed, client left, cancelled) are dropped, never run.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import math
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from road.core.errors import DeadlineExceeded, InferenceFailed, NotReady, Overloaded
from road.core.rows import Row, RowOutput, pad_rows, padded_width, row_outputs, take_rows
from road.core.tasks import TOKEN_OUTPUTS
from road.runtime.scheduling import Job, Slot, choose_batch, wait_budget_s
from road.runtime.settings import BatchSettings

RunBatch = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchStats:
    rows: int
    padded_tokens: int
    real_tokens: int
    queue_waits_s: tuple[float, ...] = ()
    run_s: float = 0.0
    tasks: tuple[str, ...] = ()


@dataclass
class _Prepared:
    slots: list[Slot]
    inputs: dict[str, np.ndarray]


class Batcher:
    """Owns the queue, the former that packs batches and the runner that feeds the session."""

    def __init__(
        self,
        run: RunBatch,
        settings: BatchSettings,
        on_batch: Callable[[BatchStats], None] | None = None,
        on_drop: Callable[[str, int], None] | None = None,
        token_outputs: Collection[str] = TOKEN_OUTPUTS,
    ) -> None:
        self._run = run
        self._token_outputs = token_outputs
        self._settings = settings
        self._on_batch = on_batch
        self._on_drop = on_drop
        self._queue: collections.deque[Slot] = collections.deque()
        self._queued_tokens = 0
        self._arrived = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._slot_ready = asyncio.Event()
        self._prepared: _Prepared | None = None
        self._tokens_per_s = 0.0
        # One thread: ORT parallelises inside a run, and runs must not overlap.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="road-session")
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False

    @property
    def queued_rows(self) -> int:
        return len(self._queue)

    @property
    def queued_tokens(self) -> int:
        return self._queued_tokens

    @property
    def alive(self) -> bool:
        """Both loops are running (a loop that died would leave every request hanging)."""
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._slot_free.set()
        self._tasks = [
            loop.create_task(self._form_loop(), name="road-batch-former"),
            loop.create_task(self._run_loop(), name="road-batch-runner"),
        ]

    async def stop(self) -> None:
        """Stop both loops; whatever is still queued fails with NotReady."""
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        leftovers = [*self._queue, *(self._prepared.slots if self._prepared else [])]
        for slot in leftovers:
            slot.job.fail(NotReady("the server is shutting down"))
        self._queue.clear()
        self._executor.shutdown(wait=True)

    def saturated(self) -> bool:
        """The queue is at a bound: new requests would be refused anyway."""
        s = self._settings
        return self.queued_rows >= s.max_queue_rows or self._queued_tokens >= s.max_queue_tokens

    def retry_after_s(self) -> float:
        """How long the queue takes to drain at the recent throughput (1 s when unknown)."""
        if self._tokens_per_s <= 0:
            return 1.0
        return min(60.0, max(1.0, self._queued_tokens / self._tokens_per_s))

    async def submit(
        self, rows: Sequence[Row], task: str = "", deadline: float = math.inf
    ) -> list[RowOutput]:
        """Queue one request's rows and wait for their outputs, in order.

        Raises Overloaded when the queue cannot take them, and DeadlineExceeded when `deadline`
        (time.monotonic()) passes before any of them began to run; such rows never run. A job
        that has begun finishes. Cancelling the caller drops the rows that have not run.
        """
        if not rows:
            return []
        job = Job(task, rows, asyncio.get_running_loop().create_future(), deadline)
        self._admit(job)
        try:
            done, _ = await asyncio.wait({job.future}, timeout=_remaining(deadline))
        except asyncio.CancelledError:
            self._abandon(job, "cancelled")
            raise
        if not done and not job.started:
            self._abandon(job, "deadline")
            raise DeadlineExceeded()
        # A job that has begun to run finishes: its deadline bounds the wait for inference.
        return await _shielded(job.future, lambda: self._abandon(job, "cancelled"))

    def _admit(self, job: Job) -> None:
        if self._stopped:
            raise NotReady("the server is shutting down")
        tokens = sum(len(row) for row in job.rows)
        s = self._settings
        over = (
            self.queued_rows + len(job.rows) > s.max_queue_rows
            or self._queued_tokens + tokens > s.max_queue_tokens
        )
        # An empty queue takes any request, or a request larger than the bounds could never run.
        if over and self._queue:
            raise Overloaded(self.retry_after_s())
        now = time.monotonic()
        self._queue.extend(Slot(job, i, now) for i in range(len(job.rows)))
        self._queued_tokens += tokens
        self._arrived.set()

    def _abandon(self, job: Job, reason: str) -> None:
        """The caller stopped waiting: the job's unrun rows will be dropped, and counted."""
        if job.live:
            job.future.cancel()
            if not job.started and self._on_drop is not None:
                self._on_drop(reason, len(job.rows))

    async def _form_loop(self) -> None:
        while True:
            await self._slot_free.wait()
            slots = await self._next_batch()
            self._prepared = self._prepare(slots)
            self._slot_free.clear()
            self._slot_ready.set()

    def _prepare(self, slots: list[Slot]) -> _Prepared:
        s = self._settings
        rows = [slot.row for slot in slots]
        width = padded_width(max(len(row) for row in rows), s.pad_multiple, s.pad_buckets)
        return _Prepared(slots, pad_rows(rows, width=width))

    async def _next_batch(self) -> list[Slot]:
        while True:
            self._drop_dead(time.monotonic())
            window = list(itertools.islice(self._queue, self._settings.pack_window))
            chosen = choose_batch(window, time.monotonic(), self._settings)
            if chosen is not None:
                self._remove(chosen)
                return chosen
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                timeout = wait_budget_s(window, time.monotonic(), self._settings)
                await asyncio.wait_for(self._arrived.wait(), timeout)

    def _remove(self, chosen: list[Slot]) -> None:
        taken = {id(slot) for slot in chosen}
        self._queue = collections.deque(s for s in self._queue if id(s) not in taken)
        self._queued_tokens -= sum(len(slot) for slot in chosen)

    def _drop_dead(self, now: float) -> None:
        """Forget rows whose job is gone; fail jobs whose deadline passed before they ran."""
        if not any(not s.job.live or s.job.overdue(now) for s in self._queue):
            return
        for slot in self._queue:
            if slot.job.overdue(now):
                self._expire(slot.job)
        alive = [s for s in self._queue if s.job.live]
        self._queue = collections.deque(alive)
        self._queued_tokens = sum(len(s) for s in alive)

    def _expire(self, job: Job) -> None:
        job.fail(DeadlineExceeded())
        if self._on_drop is not None:
            self._on_drop("deadline", len(job.rows))

    async def _run_loop(self) -> None:
        while True:
            await self._slot_ready.wait()
            prepared, self._prepared = self._prepared, None
            self._slot_ready.clear()
            self._slot_free.set()
            if prepared is not None and (batch := self._last_check(prepared)) is not None:
                await self._execute(batch)

    def _last_check(self, prepared: _Prepared) -> _Prepared | None:
        """Drop rows that died while their batch waited; never run them."""
        now = time.monotonic()
        for slot in prepared.slots:
            if slot.job.overdue(now):
                self._expire(slot.job)
        keep = [i for i, slot in enumerate(prepared.slots) if slot.job.live]
        if not keep:
            return None
        if len(keep) == len(prepared.slots):
            return prepared
        slots = [prepared.slots[i] for i in keep]
        s = self._settings
        width = padded_width(max(len(x) for x in slots), s.pad_multiple, s.pad_buckets)
        return _Prepared(slots, take_rows(prepared.inputs, keep, width))

    async def _execute(self, batch: _Prepared) -> None:
        for slot in batch.slots:
            slot.job.started = True
        started = time.monotonic()
        try:
            outputs = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run, batch.inputs
            )
            tokens = self._token_outputs
            per_row = [row_outputs(outputs, j, len(s), tokens) for j, s in enumerate(batch.slots)]
        except Exception as exc:  # noqa: BLE001 - only this batch's requests fail; the loop lives
            log.exception("session run failed for %d rows", len(batch.slots))
            failure = InferenceFailed("inference failed for the batch holding this request")
            failure.__cause__ = exc
            for slot in batch.slots:
                slot.job.fail(failure)
            return
        self._record(batch, started, time.monotonic())
        for slot, output in zip(batch.slots, per_row):
            slot.job.deliver(slot.index, output)

    def _record(self, batch: _Prepared, started: float, ended: float) -> None:
        padded = int(batch.inputs["input_ids"].size)
        rate = padded / max(ended - started, 1e-6)
        # A moving average: Retry-After follows the recent rate, not one odd batch.
        old = self._tokens_per_s
        self._tokens_per_s = rate if old == 0 else 0.8 * old + 0.2 * rate
        if self._on_batch is not None:
            self._on_batch(
                BatchStats(
                    rows=len(batch.slots),
                    padded_tokens=padded,
                    real_tokens=sum(len(s) for s in batch.slots),
                    queue_waits_s=tuple(started - s.queued_at for s in batch.slots),
                    run_s=ended - started,
                    tasks=tuple(s.job.task for s in batch.slots),
                )
            )


def _remaining(deadline: float) -> float | None:
    return None if math.isinf(deadline) else max(0.0, deadline - time.monotonic())


async def _shielded(
    future: asyncio.Future[list[RowOutput]], on_cancel: Callable[[], None]
) -> list[RowOutput]:
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        on_cancel()
        raise
