"""Async HTTP load generator for road (or any server with the same /qa and /nli API).

Closed loop: `concurrency` clients, each sending its next request as soon as the last returns.
Open loop: requests leave on a schedule (Poisson or fixed-interval arrivals at `rate` per second)
whatever the server does, and latency counts from the scheduled time (no coordinated omission).

    python -m bench.loadgen --url http://127.0.0.1:8000 --mix mixed --mode closed \
        --levels 1,4,16,64 --duration 20 --out bench/results/sweep.json --plot bench/results/s.png
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import numpy as np
import typer

from bench import host
from bench.scrape import Histogram, batch_report, diff, parse_histograms
from bench.stats import Record, summarize
from bench.workload import DATA_DIR, MIXES, Request, build_workload, load_pools

JSON_HEADERS = {"content-type": "application/json"}
ARRIVALS = ("poisson", "fixed")


async def send(
    session: aiohttp.ClientSession, url: str, request: Request, intended: float
) -> Record:
    """POST one request; status 0 when no HTTP response came back."""
    try:
        async with session.post(url + request.path, data=request.body, headers=JSON_HEADERS) as r:
            await r.read()
            status = r.status
    except (aiohttp.ClientError, TimeoutError):
        status = 0
    return Record(request.task, intended, time.perf_counter(), status)


async def closed_loop(
    session: aiohttp.ClientSession,
    url: str,
    requests: Sequence[Request],
    concurrency: int,
    duration_s: float,
) -> tuple[list[Record], float, float]:
    """Requests 0, 1, 2, ... (cycling) from `concurrency` clients until `duration_s` is over."""
    records: list[Record] = []
    counter = itertools.count()
    start = time.perf_counter()
    deadline = start + duration_s

    async def client() -> None:
        while (now := time.perf_counter()) < deadline:
            request = requests[next(counter) % len(requests)]
            records.append(await send(session, url, request, now))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return records, start, time.perf_counter()


def arrival_offsets(
    rate: float, duration_s: float, arrival: str, rng: np.random.Generator
) -> np.ndarray:
    """Send times in seconds from the start: Poisson (exponential gaps) or a fixed interval."""
    if rate <= 0 or duration_s <= 0:
        raise ValueError("rate and duration must be positive")
    if arrival == "fixed":
        return np.arange(int(rate * duration_s)) / rate
    if arrival != "poisson":
        raise ValueError(f"arrival must be one of {ARRIVALS}")
    # Draw comfortably more gaps than needed, then cut at the duration.
    expected = rate * duration_s
    gaps = rng.exponential(1 / rate, size=int(expected + 10 * np.sqrt(expected) + 10))
    times = np.cumsum(gaps) - gaps[0]
    return times[times < duration_s]


async def open_loop(
    session: aiohttp.ClientSession,
    url: str,
    requests: Sequence[Request],
    offsets: np.ndarray,
) -> tuple[list[Record], float, float]:
    """Send request i at start + offsets[i], however many are still outstanding."""
    start = time.perf_counter()
    tasks = []
    for i, offset in enumerate(offsets):
        intended = start + float(offset)
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        request = requests[i % len(requests)]
        tasks.append(asyncio.create_task(send(session, url, request, intended)))
    records = list(await asyncio.gather(*tasks))
    return records, start, max((r.done for r in records), default=time.perf_counter())


async def scrape(session: aiohttp.ClientSession, url: str) -> dict[str, Histogram] | None:
    """The server's road_* histograms, or None when it has no /metrics (the naive server)."""
    try:
        async with session.get(url + "/metrics") as response:
            if response.status != 200:
                return None
            return parse_histograms(await response.text())
    except aiohttp.ClientError:
        return None


async def measure(
    url: str,
    requests: Sequence[Request],
    mode: str,
    level: float,
    duration_s: float,
    warmup_s: float = 2.0,
    server_pid: int | None = None,
    arrival: str = "poisson",
    seed: int = 0,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """One load level: warm up, scrape, run, scrape; throughput, latency and batch statistics."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    rng = np.random.default_rng(seed)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def run(seconds: float) -> tuple[list[Record], float, float]:
            if mode == "closed":
                return await closed_loop(session, url, requests, int(level), seconds)
            offsets = arrival_offsets(level, seconds, arrival, rng)
            return await open_loop(session, url, requests, offsets)

        if warmup_s > 0:
            await run(warmup_s)
        before = await scrape(session, url)
        cpu = host.CpuClock(server_pid)
        records, start, end = await run(duration_s)
        usage = cpu.usage()
        after = await scrape(session, url)
    result: dict[str, Any] = {"mode": mode, "level": level, **summarize(records, start, end)}
    result["cpu_cores_used"] = usage
    if before is not None and after is not None:
        result["server_batches"] = batch_report(diff(before, after))
    return result


def sweep(
    url: str, requests: Sequence[Request], mode: str, levels: Sequence[float], **kwargs: Any
) -> list[dict[str, Any]]:
    """`measure` at each level in turn, printing one line per level."""
    points = []
    for level in levels:
        point = asyncio.run(measure(url, requests, mode, level, **kwargs))
        typer.echo(format_point(point))
        points.append(point)
    return points


def format_point(point: dict[str, Any]) -> str:
    lat = point["latency_ms"]
    return (
        f"{point['mode']:>6} {point['level']:>7g}: {point['throughput_rps']:8.1f} req/s  "
        f"p50 {lat['p50']:7.1f} ms  p95 {lat['p95']:7.1f}  p99 {lat['p99']:7.1f}  "
        f"errors {point['errors'] or 0}  cpu {point['cpu_cores_used']}"
    )


def main(
    url: Annotated[str, typer.Option(help="Server base URL")] = "http://127.0.0.1:8000",
    mix: Annotated[str, typer.Option(help=f"Traffic mix: {', '.join(MIXES)}")] = "mixed",
    mode: Annotated[str, typer.Option(help="closed (concurrency) or open (rate)")] = "closed",
    levels: Annotated[str, typer.Option(help="Comma-separated concurrencies or rates")] = "1,8,32",
    duration: Annotated[float, typer.Option(help="Measured seconds per level")] = 20.0,
    warmup: Annotated[float, typer.Option(help="Unmeasured seconds before each level")] = 2.0,
    arrival: Annotated[str, typer.Option(help="Open loop: poisson or fixed")] = "poisson",
    count: Annotated[int, typer.Option(help="Distinct requests sampled (then cycled)")] = 4000,
    seed: Annotated[int, typer.Option(help="Sampling and arrival seed")] = 0,
    data: Annotated[Path, typer.Option(help="shared/data directory")] = DATA_DIR,
    bundle: Annotated[
        Path | None, typer.Option(help="Drop NLI pairs longer than this bundle accepts")
    ] = None,
    server_pid: Annotated[int | None, typer.Option(help="Also report this PID's CPU use")] = None,
    out: Annotated[Path | None, typer.Option(help="Write results as JSON here")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a latency/throughput PNG here")] = None,
    label: Annotated[str, typer.Option(help="Series name in the plot and JSON")] = "road",
) -> None:
    """Measure throughput, latency and the server's batching at each load level."""
    if mode not in ("closed", "open") or arrival not in ARRIVALS:
        raise typer.BadParameter("mode must be closed or open; arrival poisson or fixed")
    requests = build_workload(load_pools(data, bundle), mix, count, seed)
    points = sweep(
        url,
        requests,
        mode,
        [float(x) for x in levels.split(",")],
        duration_s=duration,
        warmup_s=warmup,
        server_pid=server_pid,
        arrival=arrival,
        seed=seed,
    )
    config = {"url": url, "mix": mix, "mode": mode, "arrival": arrival, "count": count}
    results = {"label": label, "config": config, "machine": host.machine(), "points": points}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
    if plot is not None:
        from bench.plots import latency_vs_throughput

        latency_vs_throughput({label: points}, plot, f"{mix} traffic, {mode} loop")


if __name__ == "__main__":
    typer.run(main)
