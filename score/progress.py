"""Progress on stderr: a live bar with rows/s and ETA on a terminal, a line every 10 s in logs."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Task as ProgressTask
from rich.text import Text

LOG_EVERY_S = 10.0


class RateColumn(ProgressColumn):
    def render(self, task: ProgressTask) -> Text:
        speed = task.finished_speed or task.speed
        return Text("… rows/s" if speed is None else f"{speed:,.1f} rows/s", style="cyan")


class RowProgress:
    """Counts rows; rows done by an earlier run start the bar but not the rate."""

    def __init__(self, total: int | None, done: int, enabled: bool, label: str) -> None:
        self.console = Console(stderr=True)
        self.total, self.done, self.label = total, done, label
        self.enabled = enabled
        self.live = enabled and self.console.is_terminal
        self.started = self.last_log = time.monotonic()
        self.fresh = 0
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.live,
        )
        self.task_id = self.progress.add_task(label, total=total, completed=done)

    def __enter__(self) -> RowProgress:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def advance(self, rows: int) -> None:
        self.done += rows
        self.fresh += rows
        self.progress.update(self.task_id, advance=rows)
        now = time.monotonic()
        if self.enabled and not self.live and now - self.last_log >= LOG_EVERY_S:
            self.last_log = now
            self.console.print(self.line(now), highlight=False)

    @property
    def rate(self) -> float:
        """Rows per second scored by this run (resumed rows excluded)."""
        elapsed = time.monotonic() - self.started
        return self.fresh / elapsed if elapsed > 0 else 0.0

    def line(self, now: float) -> str:
        rate = self.rate
        if self.total:
            eta = (self.total - self.done) / rate if rate else float("nan")
            return (
                f"{self.label}: {self.done:,}/{self.total:,} rows "
                f"({100 * self.done / self.total:.0f}%), {rate:,.1f} rows/s, ETA {eta:,.0f} s"
            )
        return f"{self.label}: {self.done:,} rows, {rate:,.1f} rows/s"
