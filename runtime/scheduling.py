"""What the batcher queues (jobs and their rows) and which rows it runs next.

A job is one request's rows (a span request's windows, a classification request's row). Its rows
may run in different batches; the job completes when its last row's output is back.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from road.core.rows import Row, RowOutput, padded_width
from road.runtime.packing import plan_for
from road.runtime.settings import BatchSettings


@dataclass(eq=False)
class Job:
    """One request's rows on their way through the batcher."""

    task: str
    rows: Sequence[Row]
    future: asyncio.Future[list[RowOutput]] = field(repr=False)
    deadline: float = math.inf  # time.monotonic() after which unrun rows are never run
    outputs: list[RowOutput | None] = field(default_factory=list, repr=False)
    started: bool = False  # some row has been handed to the session

    def __post_init__(self) -> None:
        self.outputs = [None] * len(self.rows)
        self._missing = len(self.rows)

    @property
    def live(self) -> bool:
        return not self.future.done()

    def overdue(self, now: float) -> bool:
        """Past its deadline and not begun: such a job is never run."""
        return self.live and not self.started and self.deadline <= now

    def deliver(self, index: int, output: RowOutput) -> None:
        if not self.live:
            return
        self.outputs[index] = output
        self._missing -= 1
        if self._missing == 0:
            self.future.set_result([o for o in self.outputs if o is not None])

    def fail(self, exc: BaseException) -> None:
        if self.live:
            self.future.set_exception(exc)
            # The awaiting side may already be gone (deadline, disconnect); never warn about it.
            self.future.exception()


@dataclass(eq=False)
class Slot:
    """One queued row of a job."""

    job: Job
    index: int
    queued_at: float

    @property
    def row(self) -> Row:
        return self.job.rows[self.index]

    def __len__(self) -> int:
        return len(self.row)


def is_full(lengths: Sequence[int], settings: BatchSettings) -> bool:
    """No further row of the same width would fit this batch."""
    width = padded_width(max(lengths), settings.pad_multiple, settings.pad_buckets)
    return (
        len(lengths) >= settings.max_batch_size
        or width * (len(lengths) + 1) > settings.max_batch_tokens
    )


def choose_batch(window: Sequence[Slot], now: float, settings: BatchSettings) -> list[Slot] | None:
    """The rows to run next from the oldest queued rows, or None to wait for more.

    The window is packed by length. A full batch runs at once (the one holding the oldest row
    first); otherwise the oldest row's batch runs once it has waited `max_wait_ms`. A row that
    has waited `max_row_age_ms` runs next, so long rows never starve behind full short batches.
    """
    if not window:
        return None
    lengths = [len(slot) for slot in window]
    plan = plan_for(lengths, settings)
    age = now - window[0].queued_at
    oldest = next(batch for batch in plan if 0 in batch)
    if age * 1000 >= settings.max_row_age_ms:
        return [window[i] for i in sorted(oldest)]
    full = [batch for batch in plan if is_full([lengths[i] for i in batch], settings)]
    if full:
        # Window positions follow arrival order: the smallest index is the oldest row.
        return [window[i] for i in sorted(min(full, key=min))]
    if age * 1000 >= settings.max_wait_ms:
        return [window[i] for i in sorted(oldest)]
    return None


def wait_budget_s(window: Sequence[Slot], now: float, settings: BatchSettings) -> float | None:
    """Seconds until the oldest row's batch is due, or None (wait for the first row)."""
    if not window:
        return None
    return max(0.0, window[0].queued_at + settings.max_wait_ms / 1000 - now)
