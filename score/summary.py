"""What a finished job reports: counts, speed, and the exit code they mean."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from road.score.config import EXIT_BAD_ROWS, EXIT_OK, JobConfig
from road.score.plan import Plan
from road.score.shards import ERRORS_FILE


@dataclass(frozen=True)
class Summary:
    """What a finished job printed and what its exit code says."""

    engine: str
    task: str
    output: str
    errors_file: str
    rows: int
    scored: int
    bad_rows: int
    resumed_rows: int
    seconds: float
    rows_per_s: float

    @property
    def exit_code(self) -> int:
        return EXIT_BAD_ROWS if self.bad_rows else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summary(
    config: JobConfig, plan: Plan, counts: tuple[int, int, int], resumed: int, started: float
) -> Summary:
    """`counts` is (rows, scored, bad) over the whole job, earlier runs included."""
    seconds = time.monotonic() - started
    rows, scored, bad = counts
    return Summary(
        engine=config.engine,
        task=plan.task,
        output=str(config.output),
        errors_file=str(config.output / ERRORS_FILE),
        rows=rows,
        scored=scored,
        bad_rows=bad,
        resumed_rows=resumed,
        seconds=round(seconds, 3),
        rows_per_s=round((rows - resumed) / seconds, 2) if seconds > 0 else 0.0,
    )
