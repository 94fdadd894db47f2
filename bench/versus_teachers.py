"""Comparison (f) of docs/performance.md: road's default bundle against a server without road.

That user serves the 6-layer single-task teachers (one model per task, FP32 PyTorch) through
transformers pipelines (bench/naive_server.py). Both servers are measured the same way, in one
run: closed-loop mixed traffic at concurrency 1 (p50 at low load) and at a deep queue
(throughput at saturation). Separately (`f-dev`: no timing, so it may run beside other work),
the full dev files go through each server's own HTTP API (bench/dev_quality.py), so each
side's speed has the quality its users get beside it.

    python -m bench.compare --checkpoint checkpoints/default-student --only f-dev,f --out DIR
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import dev_quality, host
from bench.harness import Setup, measure, naive_server, road_server, saturation, workload
from road.core.tasks import NLI

QA_TEACHER = Path("checkpoints/teacher-qa")
NLI_TEACHER = Path("checkpoints/teacher-nli-qa-init")
# The naive server runs one request at a time: more clients only queue (the sweep shows it).
NAIVE_LEVELS = (1, 4)
# road batches what is in flight; its dev pass uses its deep queue, the naive one a short queue.
ROAD_DEV_CONCURRENCY, NAIVE_DEV_CONCURRENCY = 32, 2


def _speed(setup: Setup, server: host.Server, requests: list[Any], levels: tuple[int, ...]) -> Any:
    """One server's closed-loop points, with its low-load and top points picked out."""
    points = measure(setup, server, requests, "closed", list(levels))
    return {
        "command": server.command,
        "points": points,
        "low_load": next(p for p in points if p["level"] == 1),
        "saturation": saturation(points),
        "memory": host.memory_mib(server.pid),
    }


def _header(bundle: Path, qa: Path, nli: Path) -> dict[str, Any]:
    return {"machine": host.machine(), "bundle": str(bundle), "teachers": {"qa": str(qa),
            "nli": str(nli)}}  # fmt: skip


def run_speed(
    setup: Setup, bundle: Path, python: Path, qa: Path = QA_TEACHER, nli: Path = NLI_TEACHER
) -> dict[str, Any]:
    """(f), speed: both servers on the same mixed requests, one after the other, in one run."""
    mixed = workload(setup, "mixed", bundle)
    with road_server(setup, bundle) as server:
        road = _speed(setup, server, mixed, (1, max(setup.levels)))
    with naive_server(setup, python, qa, nli) as server:
        naive = _speed(setup, server, mixed, NAIVE_LEVELS)
    return {**_header(bundle, qa, nli), "road": road, "naive_teachers": naive}


def run_dev(
    setup: Setup, bundle: Path, python: Path, qa: Path = QA_TEACHER, nli: Path = NLI_TEACHER
) -> dict[str, Any]:
    """(f), quality: the full dev files through each server's API (no timing: any load will do)."""
    with road_server(setup, bundle) as server:
        road = dev_quality.score(server.url, concurrency=ROAD_DEV_CONCURRENCY)
    with naive_server(setup, python, qa, nli) as server:
        naive = dev_quality.score(server.url, concurrency=NAIVE_DEV_CONCURRENCY)
    return {**_header(bundle, qa, nli), "road": road, "naive_teachers": naive}


def _row(label: str, side: dict[str, Any], dev: dict[str, Any]) -> list[str]:
    top, low = side["saturation"], side["low_load"]
    qa, nli = dev["qa"], dev["nli"]
    recall = " / ".join(f"{nli['per_class_recall'][k]:.0f}" for k in NLI.labels)
    return [
        label,
        f"{top['throughput_rps']:.1f} (c={top['level']:g})",
        f"{low['latency_ms']['p50']:.1f}",
        f"{qa['HasAns_f1']:.1f} / {qa['HasAns_exact']:.1f}",
        f"{qa['NoAns_exact']:.1f}",
        f"{nli['accuracy']:.1f}",
        recall,
        str(qa["failed"] + nli["failed"]),
        f"{side['memory']['peak_rss_mib']:.0f}",
    ]


def table(result: dict[str, Any], dev: dict[str, Any]) -> str:
    """The markdown table of (f) and the speed ratios: `versus_teachers{,_dev}.json`."""
    from bench.report import table as markdown

    road, naive = result["road"], result["naive_teachers"]
    headers = ["server", "req/s at saturation", "p50 ms at c=1", "QA HasAns F1 / EM", "NoAns acc",
               "NLI acc", "NLI recall e / n / c", "failed", "peak RSS MiB"]  # fmt: skip
    rows = [
        _row("road default bundle", road, dev["road"]),
        _row("pipelines, 6-layer teachers", naive, dev["naive_teachers"]),
    ]
    text = markdown(headers, rows)
    speedup = road["saturation"]["throughput_rps"] / naive["saturation"]["throughput_rps"]
    p50 = naive["low_load"]["latency_ms"]["p50"] / road["low_load"]["latency_ms"]["p50"]
    return f"{text}\n\nthroughput ×{speedup:.2f}, p50 at c=1 ÷{p50:.2f} (road against pipelines)"
