from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.loadgen import arrival_offsets, closed_loop, measure, open_loop, send
from bench.stats import Record
from bench.workload import Request

REQUESTS = [
    Request("qa", {"question": f"q{i}", "context": "c"})
    if i % 2
    else Request("nli", {"premise": f"p{i}", "hypothesis": "h"})
    for i in range(6)
]


class FakeServer:
    """/qa answers 200, /nli answers 422; every request is recorded and counted as a batch."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.registry = CollectorRegistry()
        self.rows = Histogram("road_batch_rows", "rows", registry=self.registry, buckets=(1, 2))

    async def qa(self, request: web.Request) -> web.Response:
        self.seen.append(await request.json())
        self.rows.observe(1)
        return web.json_response({"answer": ""})

    async def nli(self, request: web.Request) -> web.Response:
        self.seen.append(await request.json())
        self.rows.observe(1)
        return web.json_response({"title": "too long"}, status=422)

    async def metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), content_type="text/plain")


@asynccontextmanager
async def serving(fake: FakeServer) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/qa", fake.qa)
    app.router.add_post("/nli", fake.nli)
    app.router.add_get("/metrics", fake.metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def test_fixed_arrivals_are_evenly_spaced() -> None:
    offsets = arrival_offsets(50, 2.0, "fixed", np.random.default_rng(0))
    assert len(offsets) == 100
    assert np.allclose(np.diff(offsets), 0.02)


def test_poisson_arrivals_have_the_requested_rate() -> None:
    offsets = arrival_offsets(1000, 10.0, "poisson", np.random.default_rng(0))
    assert offsets[0] == 0 and np.all(np.diff(offsets) > 0) and offsets[-1] < 10.0
    assert len(offsets) == pytest.approx(10_000, rel=0.05)
    gaps = np.diff(offsets)
    # Exponential gaps: the standard deviation equals the mean.
    assert gaps.mean() == pytest.approx(1e-3, rel=0.05)
    assert gaps.std() == pytest.approx(gaps.mean(), rel=0.05)


@pytest.mark.parametrize(("rate", "arrival"), [(0, "fixed"), (10, "bursty")])
def test_bad_arrival_settings_are_refused(rate: float, arrival: str) -> None:
    with pytest.raises(ValueError):
        arrival_offsets(rate, 1.0, arrival, np.random.default_rng(0))


def test_closed_loop_sends_the_requests_in_order_and_records_each_status() -> None:
    async def scenario(fake: FakeServer) -> list[Record]:
        async with serving(fake) as url, aiohttp.ClientSession() as session:
            records, start, end = await closed_loop(session, url, REQUESTS, 1, 0.3)
        assert end >= start
        return records

    fake = FakeServer()
    records = asyncio.run(scenario(fake))
    assert len(records) == len(fake.seen) > 0
    expected = [REQUESTS[i % len(REQUESTS)].payload for i in range(len(records))]
    assert fake.seen == expected
    assert {r.task: r.status for r in records} == {"qa": 200, "nli": 422}


def test_open_loop_measures_from_the_scheduled_time() -> None:
    async def scenario(fake: FakeServer) -> tuple[list[Record], float]:
        async with serving(fake) as url, aiohttp.ClientSession() as session:
            offsets = np.array([0.0, 0.01, 0.05, 0.05])
            records, start, _ = await open_loop(session, url, REQUESTS, offsets)
        return records, start

    fake = FakeServer()
    records, start = asyncio.run(scenario(fake))
    intended = [r.intended - start for r in records]
    assert intended == pytest.approx([0.0, 0.01, 0.05, 0.05])
    assert all(r.done >= r.intended for r in records)
    assert fake.seen == [r.payload for r in REQUESTS[:4]]


def test_no_response_counts_as_status_zero() -> None:
    async def scenario() -> int:
        async with aiohttp.ClientSession() as session:
            record = await send(session, "http://127.0.0.1:9", REQUESTS[0], 0.0)
        return record.status

    assert asyncio.run(scenario()) == 0


def test_measure_reports_the_servers_batches_of_the_measured_window_only() -> None:
    async def scenario(fake: FakeServer) -> dict[str, Any]:
        async with serving(fake) as url:
            return await measure(url, REQUESTS, "closed", 2, duration_s=0.3, warmup_s=0.1)

    fake = FakeServer()
    result = asyncio.run(scenario(fake))
    batches = result["server_batches"]["road_batch_rows"]
    assert 0 < result["requests"] < len(fake.seen)
    assert batches["batches"] == result["requests"]
    assert (
        result["errors"] == {"422": sum(r["task"] == "nli" for r in [])}
        or "422" in result["errors"]
    )
    json.dumps(result)  # the result is what the CLI writes as JSON
