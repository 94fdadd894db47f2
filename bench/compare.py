"""Comparisons (a)–(e) of docs/performance.md, measured in one run on one machine.

Every server under test runs as its own process pinned to `--server-cpus`; this process (the
load generator) pins itself to `--client-cpus`, so on a 2-core box each side gets one core.

    python -m bench.compare --checkpoint checkpoints/default-student \
        --variant fp32=/tmp/bundles/fp32 --out bench/results
    python -m bench.report bench/results      # the markdown tables of docs/performance.md
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bench import host, versus_teachers
from bench.ceiling import PAIRED_ROUNDS, floor, ideal, run_overhead, run_paired
from bench.harness import (
    Setup,
    measure,
    naive_server,
    road_server,
    saturation,
    save,
    setup_from_options,
    workload,
)
from road.runtime.settings import default_bundle

NAIVE_PYTHON = Path("/tmp/road-naive-venv/bin/python")
OPEN_S = 60.0


def run_road(setup: Setup, bundle: Path, label: str) -> dict[str, Any]:
    """Sweep on mixed traffic, QA-only and NLI-only at the top level, (e) open loop at 70%."""
    mixed = workload(setup, "mixed", bundle)
    with road_server(setup, bundle) as server:
        command = server.command
        points = measure(setup, server, mixed, "closed", setup.levels)
        top = saturation(points)
        level = max(setup.levels)
        by_mix = {
            mix: measure(setup, server, workload(setup, mix, bundle), "closed", [level])[0]
            for mix in ("qa", "nli")
        }
        rate = round(0.7 * top["throughput_rps"], 1)
        # p99 needs samples: at least a minute per arrival process (~1,000 requests here).
        duration = max(setup.duration_s, OPEN_S)
        open_points = {
            arrival: measure(setup, server, mixed, "open", [rate], duration_s=duration,
                             arrival=arrival)[0]
            for arrival in ("poisson", "fixed")
        }  # fmt: skip
        memory = host.memory_mib(server.pid)
    return {
        "label": label,
        "bundle": str(bundle),
        "command": command,
        "machine": host.machine(),
        "points": points,
        "saturation": top,
        "by_mix": by_mix,
        "open_70": open_points["poisson"],
        "open_70_fixed": open_points["fixed"],
        "memory": memory,
    }


def run_naive(setup: Setup, checkpoint: Path, python: Path, bundle: Path) -> dict[str, Any]:
    """(b): transformers pipelines, one request at a time, at concurrency 1 and 4."""
    mixed = workload(setup, "mixed", bundle)
    with naive_server(setup, python, checkpoint) as server:
        points = measure(setup, server, mixed, "closed", [1, 4])
        memory = host.memory_mib(server.pid)
    return {"label": "naive", "command": server.command, "points": points, "memory": memory}


def run_graphs(setup: Setup, bundle: Path, level: int) -> dict[str, Any]:
    """(c): one multi-head graph against two single-task graphs, mixed traffic, deep queue."""
    mixed = workload(setup, "mixed", bundle)
    results = {}
    for mode in ("shared", "split"):
        port = host.free_port()
        command = [sys.executable, "-m", "bench.two_graphs", "--bundle", str(bundle)]
        command += ["--mode", mode, "--port", str(port), "--threads", str(setup.threads)]
        with host.server_process(command, port, None, setup.server_cpus) as server:
            idle = host.memory_mib(server.pid)
            point = measure(setup, server, mixed, "closed", [level])[0]
            results[mode] = {"command": " ".join(command), "point": point, "idle_memory": idle}
            results[mode]["memory"] = host.memory_mib(server.pid)
    return results


def run_precision(setup: Setup, bundles: dict[str, Path], level: int) -> dict[str, Any]:
    """(d): other bundles of the same student (FP32, ...) at concurrency 1 and the top level."""
    variants = []
    for label, bundle in bundles.items():
        mixed = workload(setup, "mixed", bundle)
        with road_server(setup, bundle) as server:
            points = measure(setup, server, mixed, "closed", [1, level])
            memory = host.memory_mib(server.pid)
        manifest = json.loads((bundle / "manifest.json").read_text())
        variants.append(
            {
                "label": label,
                "bundle": str(bundle),
                "precision": manifest.get("precision"),
                "quality": manifest.get("quality", {}).get("onnx"),
                "command": server.command,
                "points": points,
                "memory": memory,
            }
        )
    return {"variants": variants}


# Batching knobs tried by `--only knobs`: road's defaults, smaller token budgets, no batching.
KNOBS: tuple[dict[str, str], ...] = (
    {},
    {"ROAD_MAX_BATCH_TOKENS": "2048"},
    {"ROAD_MAX_BATCH_TOKENS": "512"},
    {"ROAD_MAX_BATCH_SIZE": "1"},
)


def run_knobs(setup: Setup, bundle: Path, level: int) -> list[dict[str, Any]]:
    """Road at saturation (mixed traffic) under each batching setting of KNOBS."""
    mixed = workload(setup, "mixed", bundle)
    results = []
    for knobs in KNOBS:
        with road_server(setup, bundle, knobs) as server:
            point = measure(setup, server, mixed, "closed", [level])[0]
        results.append({"knobs": knobs, "command": server.command, "point": point})
    return results


Out = Annotated[Path, typer.Option(help="Results directory")]
ServerCpus = Annotated[str, typer.Option(help="CPUs of the server under test")]
ClientCpus = Annotated[str, typer.Option(help="CPUs of the load generator")]
Duration = Annotated[float, typer.Option(help="Measured seconds per load level")]


def main(
    checkpoint: Annotated[Path, typer.Option(help="RoadStudent checkpoint for (b)")],
    variant: Annotated[
        list[str], typer.Option(help="(d): LABEL=BUNDLE of the same student, e.g. fp32=DIR")
    ] = [],  # noqa: B006 - typer reads the default; it is never mutated
    int8: Annotated[Path | None, typer.Option(help="INT8 bundle; default: road's")] = None,
    naive_python: Annotated[Path, typer.Option(help="Python of the naive venv")] = NAIVE_PYTHON,
    out: Out = Path("bench/results"),
    server_cpus: ServerCpus = "0",
    client_cpus: ClientCpus = "1",
    threads: Annotated[int, typer.Option(help="Server intra-op threads")] = 1,
    duration: Duration = 20.0,
    warmup: Annotated[float, typer.Option(help="Unmeasured seconds before each level")] = 3.0,
    levels: Annotated[str, typer.Option(help="Closed-loop concurrencies of road's sweep")] = (
        "1,4,16,64"
    ),
    only: Annotated[
        str,
        typer.Option(help="Subset of road,a,overhead,b,c,d,knobs,f-dev,f (a: paired rounds)"),
    ] = "road,a,overhead,b,c,d,knobs,f-dev,f",
    road_env: Annotated[
        list[str], typer.Option(help="ROAD_*=VALUE for road's servers and (a)'s limits")
    ] = [],  # noqa: B006 - typer reads the default; it is never mutated
) -> None:
    """Run road's sweep with (a) and (e), then (b), (c), (d) and (f); one JSON file each."""
    setup = setup_from_options(
        out,
        server_cpus,
        client_cpus,
        threads=threads,
        duration_s=duration,
        warmup_s=warmup,
        levels=tuple(int(x) for x in levels.split(",")),
    )
    int8 = int8 or default_bundle()
    # Children inherit it: road's servers, the (c) servers and (a)'s batch limits alike.
    os.environ.update(dict(item.split("=", 1) for item in road_env))
    steps = set(only.split(","))
    if "road" in steps:
        road = run_road(setup, int8, "road int8")
        save(setup, "road", road)
        # The requests road served at its top level (closed-loop clients send requests 0, 1, 2,
        # ... from the start of each level), so both sides run the same mix and lengths: the
        # first 300 alone are ~7% shorter than the later ones (the cap this replaced).
        served = min(road["saturation"]["requests"], setup.count)
        road["ideal"] = ideal(setup, int8, served)
        sent = max(road[key]["requests"] for key in ("open_70", "open_70_fixed"))
        road["floor"] = floor(setup, int8, min(sent, setup.count))
        save(setup, "road", road)
    # The deepest queue of the sweep: where batching has the most rows to choose from.
    level = max(setup.levels)
    if "a" in steps:
        save(setup, "paired", run_paired(setup, int8, level, PAIRED_ROUNDS))
    if "overhead" in steps:
        from bench.report import load_result

        road = load_result(setup.out, "road")
        rate = road["saturation"]["throughput_rps"] if road else None
        save(setup, "overhead", run_overhead(setup, int8, level, rate))
    if "b" in steps:
        save(setup, "naive", run_naive(setup, checkpoint, naive_python, int8))
    if "c" in steps:
        save(setup, "graphs", run_graphs(setup, int8, level))
    if "d" in steps:
        bundles = {k: Path(v) for k, v in (item.split("=", 1) for item in variant)}
        save(setup, "precision", run_precision(setup, bundles, level))
    if "knobs" in steps:
        save(setup, "knobs", {"variants": run_knobs(setup, int8, level)})
    if "f-dev" in steps:
        save(setup, "versus_teachers_dev", versus_teachers.run_dev(setup, int8, naive_python))
    if "f" in steps:
        save(setup, "versus_teachers", versus_teachers.run_speed(setup, int8, naive_python))
    from bench.report import plots

    plots(setup.out)


if __name__ == "__main__":
    typer.run(main)
