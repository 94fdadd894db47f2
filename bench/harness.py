"""What every comparison shares: the run's setup, its workloads, road's server, one sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import typer

from bench import host
from bench.loadgen import sweep
from bench.workload import DATA_DIR, Request, build_workload, load_pools, save_workload

WORKLOADS = Path(tempfile.gettempdir()) / "road-bench"


@dataclass
class Setup:
    out: Path
    server_cpus: set[int] = field(default_factory=lambda: {0})
    client_cpus: set[int] = field(default_factory=lambda: {1})
    threads: int = 1
    duration_s: float = 20.0
    warmup_s: float = 3.0
    levels: tuple[int, ...] = (1, 4, 16, 64)
    count: int = 4000
    seed: int = 0

    def cpus_arg(self, cpus: set[int]) -> str:
        return ",".join(map(str, sorted(cpus)))


def setup_from_options(out: Path, server_cpus: str, client_cpus: str, **rest: Any) -> Setup:
    setup = Setup(
        out=out,
        server_cpus={int(c) for c in server_cpus.split(",")},
        client_cpus={int(c) for c in client_cpus.split(",")},
        **rest,
    )
    out.mkdir(parents=True, exist_ok=True)
    host.pin_self(setup.client_cpus)
    return setup


def workload(setup: Setup, mix: str, bundle: Path) -> list[Request]:
    """The same sampled requests for every server; saved so (a) can replay them exactly.

    Saved outside the results directory: megabytes of dev text that the seed reproduces.
    """
    WORKLOADS.mkdir(parents=True, exist_ok=True)
    requests = build_workload(load_pools(DATA_DIR, bundle), mix, setup.count, setup.seed)
    save_workload(requests, WORKLOADS / f"workload-{mix}.jsonl")
    return requests


@contextmanager
def road_server(
    setup: Setup,
    bundle: Path,
    knobs: dict[str, str] | None = None,
    entry: Sequence[str] = ("road", "serve"),
) -> Iterator[host.Server]:
    """`road serve` (or another module taking its arguments: `entry`) pinned to the server CPUs."""
    port = host.free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith("ROAD_")},
        **(knobs or {}),
        "ROAD_INTRA_OP_THREADS": str(setup.threads),
        "ROAD_TOKENIZER_THREADS": "1",
        "ROAD_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", *entry, str(bundle), "--port", str(port)]
    with host.server_process(command, port, env, setup.server_cpus) as server:
        yield server


@contextmanager
def naive_server(
    setup: Setup, python: Path, checkpoint: Path, nli_checkpoint: Path | None = None
) -> Iterator[host.Server]:
    """bench/naive_server.py in its own venv (`python`), pinned to the server CPUs."""
    port = host.free_port()
    command = [str(python), "-m", "bench.naive_server", str(checkpoint), "--port", str(port)]
    command += ["--threads", str(setup.threads)]
    if nli_checkpoint is not None:
        command += ["--nli-checkpoint", str(nli_checkpoint)]
    env = {"TOKENIZERS_PARALLELISM": "false"}
    with host.server_process(command, port, env, setup.server_cpus) as server:
        yield server


def measure(
    setup: Setup,
    server: host.Server,
    requests: Sequence[Request],
    mode: str,
    levels: Sequence[float],
    **overrides: Any,
) -> list[dict[str, Any]]:
    """`sweep` with the setup's duration, warm-up and seed; `overrides` replace or add to them."""
    options = {"duration_s": setup.duration_s, "warmup_s": setup.warmup_s, "seed": setup.seed}
    return sweep(server.url, requests, mode, levels, server_pid=server.pid,
                 **{**options, **overrides})  # fmt: skip


def saturation(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return max(points, key=lambda p: p["throughput_rps"])


def save(setup: Setup, name: str, result: dict[str, Any]) -> None:
    result = {"setup": {k: str(v) for k, v in asdict(setup).items()}, **result}
    (setup.out / f"{name}.json").write_text(json.dumps(result, indent=2))
    typer.echo(f"wrote {setup.out / name}.json")


def pinned_json(setup: Setup, command: list[str]) -> Any:
    """Run a bench module on the server's CPUs; its last stdout line is JSON."""
    done = subprocess.run(
        ["taskset", "-c", setup.cpus_arg(setup.server_cpus), *command],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
