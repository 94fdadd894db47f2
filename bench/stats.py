"""Latency and throughput summaries of a load-generator run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PERCENTILES = (50, 95, 99)


@dataclass(frozen=True, slots=True)
class Record:
    """One request: when it was meant to be sent, when its response was complete, its status.

    `status` is the HTTP status, or 0 when no response came back (connection error, timeout).
    In open loop `intended` is the scheduled send time, so a request the client could only send
    late, because the server was slow, still counts its wait (no coordinated omission).
    """

    task: str
    intended: float
    done: float
    status: int

    @property
    def latency(self) -> float:
        return self.done - self.intended

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99, mean and max in milliseconds; NaN for an empty run."""
    if not latencies_s:
        nan = float("nan")
        return {**{f"p{p}": nan for p in PERCENTILES}, "mean": nan, "max": nan}
    ms = np.asarray(latencies_s, dtype=np.float64) * 1000
    # "linear" is numpy's default; named because percentile definitions differ between tools.
    values = np.percentile(ms, PERCENTILES, method="linear")
    return {
        **{f"p{p}": float(v) for p, v in zip(PERCENTILES, values)},
        "mean": float(ms.mean()),
        "max": float(ms.max()),
    }


def summarize(records: Sequence[Record], started: float, finished: float) -> dict[str, Any]:
    """Throughput over [started, finished], latency of successful requests, errors by status."""
    wall = max(finished - started, 1e-9)
    ok = [r for r in records if r.ok]
    errors = Counter(str(r.status) for r in records if not r.ok)
    by_task = {}
    for task in sorted({r.task for r in records}):
        mine = [r for r in ok if r.task == task]
        by_task[task] = {
            "ok": len(mine),
            "throughput_rps": len(mine) / wall,
            "latency_ms": latency_summary([r.latency for r in mine]),
        }
    return {
        "duration_s": wall,
        "requests": len(records),
        "ok": len(ok),
        "errors": dict(sorted(errors.items())),
        "throughput_rps": len(ok) / wall,
        "latency_ms": latency_summary([r.latency for r in ok]),
        "by_task": by_task,
    }
