"""(a)'s ceiling and (e)'s floor: the raw ONNX Runtime session on the requests road served."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench.harness import WORKLOADS, Setup, measure, pinned_json, road_server, workload
from road.runtime.settings import BatchSettings

# Besides the server's own limits, (a) tries one row per run; each is the best of IDEAL_PASSES
# passes over the same batches (on this shared box two passes differed by up to 15%).
IDEAL_LIMITS = "1x8192"
IDEAL_PASSES = 3
PAIRED_ROUNDS = 5


def ideal(
    setup: Setup,
    bundle: Path,
    requests_sent: int,
    extra_limits: str = IDEAL_LIMITS,
    passes: int = IDEAL_PASSES,
) -> dict[str, Any]:
    """(a): the raw session on the first `requests_sent` requests of the mixed workload.

    Batched within the server's limits, and also one row per run (`extra_limits`): on a CPU
    with small caches a token can cost less in a small batch, so the best of these is the bar.
    """
    batch = BatchSettings()
    limits = ",".join(
        x for x in (f"{batch.max_batch_size}x{batch.max_batch_tokens}", extra_limits) if x
    )
    command = replay("bench.ideal_ort", setup, bundle, requests_sent)
    command += ["--limits", limits, "--repeats", str(passes)]
    configs = pinned_json(setup, command)
    best = max(configs, key=lambda c: c["requests_per_cpu_s"])
    return {"command": " ".join(command), "server_limits": configs[0], "best": best, "all": configs}


def run_paired(setup: Setup, bundle: Path, level: int, rounds: int) -> dict[str, Any]:
    """(a) paired in time: each round runs road at `level`, then the raw session (server's
    limits, one pass) on exactly the requests road served in that round.

    On a shared machine whose speed drifts by 10–25% within minutes, a ratio of two
    measurements taken seconds apart, and its median over rounds, is steadier than one ratio
    of a road sweep and a raw run several minutes later.
    """
    mixed = workload(setup, "mixed", bundle)
    pairs = []
    with road_server(setup, bundle) as server:
        for _ in range(rounds):
            point = measure(setup, server, mixed, "closed", [level])[0]
            served = min(point["requests"], setup.count)
            raw = ideal(setup, bundle, served, extra_limits="", passes=1)["server_limits"]
            pairs.append({"road": point, "raw": raw, "command": server.command})
    return {"level": level, "rounds": pairs}


def run_overhead(
    setup: Setup, bundle: Path, level: int, road_rate: float | None = None
) -> dict[str, Any]:
    """Road with the encoder replaced by zeros (`bench.null_model`): its own cost.

    Closed loop at `level` gives the cost per request when requests arrive in bulk; open loop
    at `road_rate` (road's own top throughput) gives the share of the core that road's own work
    takes at the rate the real server runs, where fewer requests share each wake-up.
    """
    mixed = workload(setup, "mixed", bundle)
    with road_server(setup, bundle, entry=("bench.null_model",)) as server:
        point = measure(setup, server, mixed, "closed", [level])[0]
        at_rate = measure(setup, server, mixed, "open", [road_rate])[0] if road_rate else None
    return {"level": level, "command": server.command, "point": point, "at_road_rate": at_rate}


def floor(setup: Setup, bundle: Path, requests_sent: int) -> dict[str, Any]:
    """(e)'s floor: the solo compute time of each request (e)'s open-loop runs sent."""
    command = replay("bench.solo", setup, bundle, requests_sent)
    return {"command": " ".join(command), **pinned_json(setup, command)}


def replay(module: str, setup: Setup, bundle: Path, count: int) -> list[str]:
    """A bench module's command line over the first `count` requests of the mixed workload."""
    return [
        sys.executable, "-m", module,
        "--bundle", str(bundle),
        "--workload", str(WORKLOADS / "workload-mixed.jsonl"),
        "--count", str(count),
        "--threads", str(setup.threads),
    ]  # fmt: skip
