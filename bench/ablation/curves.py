"""One training-curve PNG per run, from its log.jsonl."""

from __future__ import annotations

import json
from pathlib import Path


def read_losses(log: Path) -> dict[str, list[tuple[int, float]]]:
    """(step, loss) per logged key: the total `loss` and its parts (gold, kd, smart, ...)."""
    series: dict[str, list[tuple[int, float]]] = {}
    for record in map(json.loads, log.read_text().splitlines()):
        if "loss" not in record:
            continue
        for key in ("loss", "gold", "kd", "hidden", "smart", "bregman"):
            if key in record:
                series.setdefault(key, []).append((record["step"], record[key]))
    return series


def read_dev(log: Path) -> dict[str, list[tuple[int, float]]]:
    """(step, value) of the periodic dev evaluations: NLI accuracy, QA HasAns F1."""
    series: dict[str, list[tuple[int, float]]] = {}
    for record in map(json.loads, log.read_text().splitlines()):
        for task, metrics in record.get("dev", {}).items():
            for key in ("accuracy", "HasAns_f1"):
                if key in metrics:
                    series.setdefault(f"dev {task} {key}", []).append(
                        (record["step"], metrics[key])
                    )
    return series


def smooth(values: list[float], weight: float = 0.95) -> list[float]:
    out, ema = [], None
    for value in values:
        ema = value if ema is None else weight * ema + (1 - weight) * value
        out.append(ema)
    return out


def plot_curve(log: Path, png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on training machines
    import matplotlib.pyplot as plt

    series = read_losses(log)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key, points in series.items():
        steps, values = zip(*points)
        ax.plot(steps, smooth(list(values)), label=key, linewidth=1.5 if key == "loss" else 1)
    ax.set(title=title, xlabel="step", ylabel="training loss (EMA 0.95)")
    ax.grid(alpha=0.3)
    dev = read_dev(log)
    if dev:  # dev metrics on a second axis, so loss and quality share one picture
        twin = ax.twinx()
        for key, points in dev.items():
            steps, values = zip(*points)
            twin.plot(steps, values, "o--", color="tab:red", label=key, linewidth=1)
        twin.set_ylabel("dev subset (%)")
        twin.legend(loc="lower right")
    if series:
        ax.legend(loc="center left")
    else:  # a run shorter than log_every
        ax.text(0.5, 0.5, "no steps logged", ha="center", transform=ax.transAxes)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
