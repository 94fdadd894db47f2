"""(e)'s floor: each request's own compute time on the raw session, with nothing queued ahead.

A request's rows (every window of a QA context, or one NLI pair) are cut into batches within the
server's limits and run back to back on an otherwise idle session; only `session.run` is timed.
No scheduler can answer a request faster than this on the same hardware, so the spread of these
times is what p99 ÷ p50 cannot go below when requests run one after another (one core).

    taskset -c 0 python -m bench.solo --bundle road/default_bundle \
        --workload /tmp/road-bench/workload-mixed.jsonl --count 1100
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import onnxruntime as ort
import typer

from bench.ideal_ort import encode_each, ideal_batches, open_session
from bench.stats import latency_summary
from bench.workload import Request, load_workload
from road.core.rows import Row, pad_rows
from road.runtime.settings import BatchSettings


def request_inputs(rows: Sequence[Row], limits: BatchSettings) -> list[dict[str, np.ndarray]]:
    """The padded batches one request's rows take within the server's limits."""
    batches = ideal_batches(rows, limits.max_batch_size, limits.max_batch_tokens)
    return [pad_rows(batch) for batch in batches]


def solo_seconds(session: ort.InferenceSession, inputs: Sequence[dict[str, np.ndarray]]) -> float:
    started = time.perf_counter()
    for batch in inputs:
        session.run(None, batch)
    return time.perf_counter() - started


def measure(bundle: Path, requests: Sequence[Request], threads: int) -> dict[str, Any]:
    """Latency summary of the requests' solo compute times, overall and per task."""
    limits = BatchSettings()
    session = open_session(bundle, threads)
    inputs = [request_inputs(rows, limits) for rows in encode_each(bundle, requests)]
    for batch in inputs[:20]:
        solo_seconds(session, batch)  # warm-up: first runs allocate
    seconds = [solo_seconds(session, batch) for batch in inputs]
    result: dict[str, Any] = {"requests": len(requests), "latency_ms": latency_summary(seconds)}
    result["by_task"] = {
        task: latency_summary([s for s, r in zip(seconds, requests) if r.task == task])
        for task in sorted({r.task for r in requests})
    }
    return result


def main(
    bundle: Annotated[Path, typer.Option(help="Bundle directory")],
    workload: Annotated[Path, typer.Option(help="JSON lines written by bench.workload")],
    count: Annotated[int | None, typer.Option(help="Use the first N requests (cycling)")] = None,
    threads: Annotated[int, typer.Option(help="ORT intra-op threads, as the server")] = 1,
) -> None:
    """Print the solo compute-time summary of the workload's requests as JSON."""
    requests = load_workload(workload)
    if count is not None:
        requests = [requests[i % len(requests)] for i in range(count)]
    typer.echo(json.dumps(measure(bundle, requests, threads)))


if __name__ == "__main__":
    typer.run(main)
