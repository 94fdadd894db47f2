"""SIGTERM under sustained load: readiness drops first, no accepted request is lost, exit 0.

"Accepted" is read from the server's own access log: every request id it logged must have
reached its client as a 200. Requests the server never read (refused connections after the
drain) are not accepted and may fail on the client.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest

from .server import server_process
from .workload import nli_items, qa_items

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DRAIN_DELAY_S = 1.5
CLIENTS = 6


@dataclass
class Sent:
    request_id: str
    status: int | None  # None: no response (connection refused or closed)
    error: str = ""
    ended: float = 0.0


def load(url: str, calls: list, stop: threading.Event, sent: list[Sent], offset: int) -> None:
    """One client: a request at a time until told to stop or the server refuses connections."""
    i = offset
    with httpx.Client(base_url=url, timeout=120) as client:
        while not stop.is_set():
            path, body = calls[i % len(calls)]
            request_id = uuid.uuid4().hex
            try:
                response = client.post(path, json=body, headers={"X-Request-ID": request_id})
                sent.append(Sent(request_id, response.status_code, ended=time.monotonic()))
            except httpx.TransportError as exc:
                sent.append(Sent(request_id, None, type(exc).__name__, time.monotonic()))
                if isinstance(exc, httpx.ConnectError):
                    return
            i += CLIENTS


def watch_readiness(url: str, stop: threading.Event, seen: list[tuple[float, int | None]]) -> None:
    while not stop.is_set():
        try:
            status: int | None = httpx.get(f"{url}/health/ready", timeout=5).status_code
        except httpx.TransportError:
            status = None
        seen.append((time.monotonic(), status))
        time.sleep(0.05)


def test_sigterm_drains_under_load_and_exits_zero():
    calls = [("/nli", item) for item in nli_items(20, seed=7)]
    calls += [("/qa", item) for item in qa_items(10, seed=8, max_context_chars=3000)]
    env = {"ROAD_DRAIN_DELAY_S": str(DRAIN_DELAY_S), "ROAD_GRACEFUL_TIMEOUT_S": "60"}
    sent: list[Sent] = []
    readiness: list[tuple[float, int | None]] = []
    stop = threading.Event()
    with server_process(env=env) as server:
        threads = [
            threading.Thread(target=load, args=(server.url, calls, stop, sent, k))
            for k in range(CLIENTS)
        ]
        threads.append(threading.Thread(target=watch_readiness, args=(server.url, stop, readiness)))
        for thread in threads:
            thread.start()
        time.sleep(3)
        assert sent, "the load should be running before SIGTERM"
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=120)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        records = server.log_records()
        log_tail = server.log.read_text()[-3000:]

    assert code == 0, log_tail
    logged = {r["request_id"] for r in records if r.get("logger") == "road.access"}
    by_id = {s.request_id: s for s in sent}
    lost = [rid for rid in logged if rid in by_id and by_id[rid].status != 200]
    assert not lost, f"accepted requests without a 200: {[by_id[r] for r in lost]}"
    assert all(s.status in (200, None) for s in sent), {s.status for s in sent}
    after_signal = [s for s in sent if s.status == 200 and s.ended > signalled]
    assert after_signal, "requests in flight at SIGTERM (or sent during the drain) should finish"
    unready = [t for t, status in readiness if t > signalled and status == 503]
    refused = [s.ended for s in sent if s.error == "ConnectError"]
    assert unready, "readiness should report 503 while draining"
    assert not refused or min(unready) < min(refused), "readiness must drop before refusals"
