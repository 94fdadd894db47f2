"""Runs the real `road serve` process on loopback for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    bundle: Path | None = None, env: dict[str, str] | None = None, timeout_s: float = 120
) -> Iterator[str]:
    """Start `python -m road serve [bundle]`, wait until /health/ready is 200, yield its URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "road",
        "serve",
        *([str(bundle)] if bundle else []),
        "--port",
        str(port),
    ]
    full_env = {**os.environ, "ROAD_HOST": "127.0.0.1", "ROAD_INTRA_OP_THREADS": "1", **(env or {})}
    # A file, not a pipe: a pipe nobody reads would block the server once it fills with logs.
    log = tempfile.NamedTemporaryFile("w+", prefix="road-serve-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        command, env=full_env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, timeout_s, Path(log.name))
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log.name)


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
