"""PNG plots of latency against throughput, one line pair (p50, p99) per server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and CI

import matplotlib.pyplot as plt  # noqa: E402


def latency_vs_throughput(
    series: Mapping[str, Sequence[Mapping[str, Any]]], path: Path, title: str
) -> None:
    """x: successful requests per second; y: p50 (solid) and p99 (dashed) latency, log scale."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (label, points), color in zip(series.items(), colors):
        ordered = sorted(points, key=lambda p: float(p["level"]))
        x = [float(p["throughput_rps"]) for p in ordered]
        for pct, style in (("p50", "-"), ("p99", "--")):
            y = [p["latency_ms"][pct] for p in ordered]
            ax.plot(x, y, style, marker="o", color=color, label=f"{label} {pct}")
        for p, xi in zip(ordered, x):
            ax.annotate(
                f"{p['level']:g}",
                (xi, p["latency_ms"]["p50"]),
                textcoords="offset points",
                xytext=(3, -10),
                fontsize=7,
                color=color,
            )
    ax.set_xlabel("throughput (successful requests/s)")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_yscale("log")
    ax.set_title(title + "  (point labels: concurrency or rate)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
