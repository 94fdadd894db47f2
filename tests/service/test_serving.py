"""A served version drains: it closes only once the last request holding it is done."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from road.runtime.models import ModelVersion
from road.service.serving import ServedVersion, named_model


def served_version(closed: list[str]) -> ServedVersion:
    async def stop() -> None:
        closed.append("batcher")

    engine: Any = SimpleNamespace(
        batcher=SimpleNamespace(stop=stop), close=lambda: closed.append("engine")
    )
    return ServedVersion(ModelVersion("road", 1, ()), runtime=None, engine=engine)  # type: ignore[arg-type]


def test_drain_waits_for_every_lease() -> None:
    async def scenario() -> list[str]:
        closed: list[str] = []
        served = served_version(closed)
        with served.lease():
            drain = asyncio.ensure_future(served.drain())
            await asyncio.sleep(0.05)
            assert served.state == "UNLOADING" and closed == [] and served.leases == 1
        await asyncio.wait_for(drain, 5)
        return closed

    assert asyncio.run(scenario()) == ["batcher", "engine"]


def test_an_idle_version_closes_at_once() -> None:
    closed: list[str] = []
    asyncio.run(asyncio.wait_for(served_version(closed).drain(), 5))
    assert closed == ["batcher", "engine"]


def test_the_model_header() -> None:
    assert named_model(None) == named_model(" ") == (None, None)
    assert named_model("other") == ("other", None)
    assert named_model(" other/2 ") == ("other", "2")
