"""The machine and the processes under test: CPU pinning, CPU time, resident memory (Linux)."""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    """What a reader needs to weigh a number: CPU model, cores, memory, load, versions."""
    import onnxruntime

    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "kernel": platform.release(),
        "git": git_state(),
    }


def git_state() -> str:
    """The commit measured, marked dirty when the tree had uncommitted changes."""
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: field 14 (utime) and 15 (stime) of proc(5) are at 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mib(pid: int) -> dict[str, float]:
    """Resident memory now (VmRSS) and at its peak (VmHWM), in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return {"rss_mib": values["VmRSS"], "peak_rss_mib": values["VmHWM"]}


class CpuClock:
    """Cores used (CPU seconds per wall second) by this process and optionally a server."""

    def __init__(self, server_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.wall = time.perf_counter()
        self.client = time.process_time()
        self.server = cpu_seconds(server_pid) if server_pid else 0.0

    def usage(self) -> dict[str, float]:
        wall = max(time.perf_counter() - self.wall, 1e-9)
        used = {"client": round((time.process_time() - self.client) / wall, 3)}
        if self.server_pid:
            used["server"] = round((cpu_seconds(self.server_pid) - self.server) / wall, 3)
        return used


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path
    command: str


@contextmanager
def server_process(
    command: Sequence[str],
    port: int,
    env: dict[str, str] | None = None,
    cpus: set[int] | None = None,
    log: Path | None = None,
    ready_path: str = "/health/ready",
    timeout_s: float = 300.0,
) -> Iterator[Server]:
    """Start a server (pinned to `cpus`), wait until `ready_path` answers 200, stop it after."""
    log = log or Path(f"/tmp/bench-server-{port}.log")
    with log.open("w") as handle:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,  # noqa: PLW1509
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url + ready_path, process, timeout_s, log)
        settings = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        cpus_prefix = f"taskset -c {','.join(map(str, sorted(cpus)))} " if cpus else ""
        yield Server(url, process.pid, log, f"{settings} {cpus_prefix}{' '.join(command)}".strip())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    process.kill()
    raise TimeoutError(f"{url} not ready after {timeout_s}s; log: {log}")


def pin_self(cpus: set[int] | None) -> None:
    """Pin this process (the load generator) to `cpus`, away from the server's."""
    if cpus:
        os.sched_setaffinity(0, cpus)
