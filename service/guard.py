"""A request's limits in time: its deadline, and its client still being there.

A model request runs as a task next to a watcher of the connection's `receive` channel: when the
client disconnects first, the task is cancelled, so its queued rows are dropped before inference.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.requests import Request

from road.core.errors import ClientGone
from road.service.settings import ServerSettings

T = TypeVar("T")
TIMEOUT_HEADER = "X-Request-Timeout-Ms"


def deadline(request: Request, settings: ServerSettings, timeout_ms: float | None) -> float:
    """time.monotonic() by which the request must have run, counted from its arrival."""
    received = float(request.scope.get("state", {}).get("received_at", time.monotonic()))
    budget_s = settings.request_timeout_s if timeout_ms is None else timeout_ms / 1000
    return received + min(budget_s, settings.max_request_timeout_s)


async def unless_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """Await `work`; if the client disconnects first, cancel it and raise ClientGone."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnect(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
    if task in done:
        return task.result()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    raise ClientGone("the client disconnected before its answer was ready")


async def _disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
