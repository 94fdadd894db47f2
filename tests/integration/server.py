"""Runs the real `road serve` process on loopback for integration tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
# The test-only entry module that wraps the session (tests/integration/faulty_server.py).
FAULTY = ("-m", "tests.integration.faulty_server")


def bundle_under_test() -> Path | None:
    """ROAD_TEST_BUNDLE, when set, replaces the default bundle in the answer-equality tests.

    It separates the engine's exactness from the model's: the default INT8 bundle quantises
    activations per batch tensor, so its logits depend on batch mates (docs/service.md).
    """
    value = os.environ.get("ROAD_TEST_BUNDLE")
    return Path(value) if value else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def metrics(self) -> dict[str, float]:
        """The server's /metrics as {'name{labels}': value} (comments and _created dropped)."""
        text = httpx.get(f"{self.url}/metrics", timeout=30).text
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and "_created" not in line:
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def log_records(self) -> list[dict]:
        """The server's JSON log lines so far."""
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@contextmanager
def server_process(
    bundle: Path | None = None,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
    entry: Sequence[str] = ("-m", "road", "serve"),
    timeout_s: float = 180,
) -> Iterator[Server]:
    """Start the server, wait until /health/ready is 200, yield it; SIGTERM it afterwards."""
    port = free_port()
    command = [sys.executable, *entry, *([str(bundle)] if bundle else []), "--port", str(port)]
    full_env = {
        **os.environ,
        "ROAD_HOST": "127.0.0.1",
        "ROAD_INTRA_OP_THREADS": "1",
        "ROAD_DRAIN_DELAY_S": "0",
        **(env or {}),
    }
    # A file, not a pipe: a pipe nobody reads would block the server once it fills with logs.
    log = tempfile.NamedTemporaryFile("w+", prefix="road-serve-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [*command, *args], env=full_env, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=REPO
    )
    server = Server(f"http://127.0.0.1:{port}", process, Path(log.name))
    try:
        wait_ready(server.url, process, timeout_s, server.log)
        yield server
    finally:
        stop(process)
        log.close()
        os.unlink(log.name)


@contextmanager
def running_server(
    bundle: Path | None = None, env: dict[str, str] | None = None, timeout_s: float = 180
) -> Iterator[str]:
    """Start `python -m road serve [bundle]`, wait until /health/ready is 200, yield its URL."""
    with server_process(bundle, env, timeout_s=timeout_s) as server:
        yield server.url


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_ready(url: str, process: subprocess.Popen[str], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text()
            raise RuntimeError(f"server exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"server at {url} not ready after {timeout_s}s")
