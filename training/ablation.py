"""The distillation ablation of docs/distillation.md: four teachers, seven students, one table.

    python -m road.training.ablation [--steps N] [--teacher-steps N] [--train-limit N]
                                     [--dev-limit N] [--set key=value ...] [--skip-export]

Trains what is not trained yet (`road train` resumes from checkpoint-last), exports every model
to an INT8 bundle, measures ONNX Runtime throughput at batch 1 and 32 on dev rows, plots each
run's training curve and rewrites the results section of docs/distillation.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from road.training.config import TrainConfig, load_config
from road.training.curves import plot_curve
from road.training.loop import FINAL, train

CONFIGS = Path(__file__).resolve().parent / "configs"
DOC = Path("docs/distillation.md")
PLOTS = Path("docs/img/distillation")
BEGIN, END = "<!-- ablation:begin -->", "<!-- ablation:end -->"
SECOND_SEED = 29

TEACHERS = [
    (f"teacher-{task}{suffix}", f"teacher-{task}.yaml", extra)
    for task in ("qa", "nli")
    for suffix, extra in (
        ("", []),
        (
            f"-s{SECOND_SEED}",
            [f"seed={SECOND_SEED}", f"output_dir=runs/ablation/teacher-{task}-s29"],
        ),
    )
]
STUDENTS = [
    (name, f"ablation-{name}.yaml", [])
    for name in (
        "1-single-qa", "1-single-nli", "2-multitask", "3-kd", "4-anneal", "5-weighted", "6-smart"
    )
]  # fmt: skip


@dataclass
class Entry:
    name: str
    config: TrainConfig
    wall_s: float
    metrics: dict[str, Any]
    throughput: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def run_config(name: str, file: str, extra: list[str], args: argparse.Namespace) -> TrainConfig:
    steps = args.teacher_steps if name.startswith("teacher") else args.steps
    overrides = [*extra, *([f"steps={steps}"] if steps else []), *args.set]
    config = load_config(CONFIGS / file, overrides)
    limits = [f"{task}.dev_limit={args.dev_limit}" for task in config.tasks() if args.dev_limit]
    limits += [f"{t}.train_limit={args.train_limit}" for t in config.tasks() if args.train_limit]
    return load_config(CONFIGS / file, [*overrides, *limits]) if limits else config


def train_entry(name: str, config: TrainConfig) -> Entry:
    """Train (or finish) one run; wall time adds up over resumed sessions."""
    out = Path(config.output_dir)
    timing = out / "wall_time.json"
    if not (out / FINAL / "dev_metrics.json").is_file():
        before = json.loads(timing.read_text())["seconds"] if timing.is_file() else 0.0
        started = time.perf_counter()
        train(config)
        timing.write_text(json.dumps({"seconds": before + time.perf_counter() - started}))
    wall = json.loads(timing.read_text())["seconds"] if timing.is_file() else float("nan")
    metrics = json.loads((out / FINAL / "dev_metrics.json").read_text())
    return Entry(name, config, wall, metrics)


def measure(entry: Entry, dev_limit: int | None) -> None:
    """Export to an INT8 CPU bundle, then time it; an export failure is reported, not hidden."""
    from road.core.errors import RoadError
    from road.export.pipeline import export_bundle
    from road.training.throughput import bundle_throughput

    final = Path(entry.config.output_dir) / FINAL
    bundle = Path(entry.config.output_dir) / "bundle-int8"
    try:
        if not (bundle / "manifest.json").is_file():
            # These bundles exist to be timed: the INT8 quality gate reports, it does not block.
            export_bundle(final, bundle, dev_limit=dev_limit, metric_budget=100.0)
        entry.throughput = bundle_throughput(bundle, entry.config, final)
    except RoadError as exc:
        entry.note = f"export failed: {exc}"


def cell(metrics: dict[str, Any], task: str, key: str) -> str:
    value = metrics.get(task, {}).get(key)
    return "–" if value is None else f"{value:.1f}"


def table(entries: list[Entry]) -> str:
    lines = [
        "| run | layers | QA EM | QA F1 | NLI acc | QA rows/s b1 | b32 | NLI rows/s b1 | b32 "
        "| wall time | curve |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        layers = len(e.config.layers) if e.config.layers else 6
        t = e.throughput
        plot = f"[png](img/distillation/{e.name}.png)"
        lines.append(
            f"| {e.name} | {layers} | {cell(e.metrics, 'qa', 'exact')} "
            f"| {cell(e.metrics, 'qa', 'f1')} | {cell(e.metrics, 'nli', 'accuracy')} "
            f"| {cell(t, 'qa', 'batch_1')} | {cell(t, 'qa', 'batch_32')} "
            f"| {cell(t, 'nli', 'batch_1')} | {cell(t, 'nli', 'batch_32')} "
            f"| {e.wall_s / 60:.1f} min | {plot} {e.note} |"
        )
    return "\n".join(lines)


def targets(entries: list[Entry]) -> str:
    """The issue's targets for the best KD student: ≥95% of the teachers, ≥+1 over (1)."""
    by_name = {e.name: e for e in entries}
    lines = []
    for task, key, single in (("qa", "f1", "1-single-qa"), ("nli", "accuracy", "1-single-nli")):
        teacher = max(by_name[n].metrics[task][key] for n, _, _ in TEACHERS if task in n)
        best = max(("3-kd", "4-anneal", "5-weighted", "6-smart"),
                   key=lambda n: by_name[n].metrics[task][key])  # fmt: skip
        value = by_name[best].metrics[task][key]
        base = by_name[single].metrics[task][key]
        lines.append(
            f"- {task.upper()} {key}: best KD student `{best}` {value:.1f} = "
            f"{100 * value / teacher:.1f}% of the best teacher ({teacher:.1f}); "
            f"{value - base:+.1f} points over `{single}` ({base:.1f})."
        )
    return "\n".join(lines)


def write_doc(entries: list[Entry], command: str) -> None:
    text = DOC.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    body = f"Produced by `{command}`.\n\n{table(entries)}\n\n{targets(entries)}\n"
    DOC.write_text(f"{head}{BEGIN}\n{body}{END}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="steps of every student (same budget)")
    parser.add_argument("--teacher-steps", type=int, help="steps of every teacher")
    parser.add_argument("--dev-limit", type=int, help="score the first N dev examples per task")
    parser.add_argument("--train-limit", type=int, help="train on N examples per task")
    parser.add_argument("--set", action="append", default=[], help="override for every run")
    parser.add_argument("--skip-export", action="store_true", help="no bundles, no throughput")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    entries = []
    for name, file, extra in [*TEACHERS, *STUDENTS]:
        entry = train_entry(name, run_config(name, file, extra, args))
        if not args.skip_export:
            measure(entry, args.dev_limit)
        plot_curve(Path(entry.config.output_dir) / "log.jsonl", PLOTS / f"{entry.name}.png", name)
        entries.append(entry)
        (Path("runs/ablation") / "results.json").write_text(
            json.dumps([{**e.__dict__, "config": None} for e in entries], indent=2)
        )
    write_doc(entries, " ".join(["python -m road.training.ablation", *argv]))


if __name__ == "__main__":
    main()
