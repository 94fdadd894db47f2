"""The distillation ablation of docs/distillation.md: three teachers, seven students, one table.

    python -m bench.ablation [--steps N] [--teacher-steps N] [--train-limit N]
                             [--dev-limit N] [--set key=value ...] [--skip-export]

Trains what is not trained yet (`road train` resumes from checkpoint-last), scores the reference
teacher on the same dev examples, exports one model per architecture (6-layer teacher, 3-layer
student) to a static INT8 bundle and times it through ONNX Runtime at batch 1 and 32 on dev rows,
plots each run's training curve and rewrites the results section of docs/distillation.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import road.training
from bench.ablation.curves import plot_curve
from bench.ablation.throughput import bundle_throughput
from road.core.errors import RoadError
from road.export.pipeline import export_bundle
from road.training.config import TrainConfig, load_config
from road.training.loop import FINAL, train

# The runs are ordinary training configs, shipped with road.training (`road train` takes them).
CONFIGS = Path(road.training.__file__).resolve().parent / "configs"
COMMAND = "python -m bench.ablation"
DOC = Path("docs/distillation.md")
PLOTS = Path("docs/img/distillation")
RESULTS = Path("runs/ablation")
BEGIN, END = "<!-- ablation:begin -->", "<!-- ablation:end -->"

# The second teacher of each task: the committed 6-layer multi-task student (docs/models.md),
# trained far longer than this ablation can afford; the first is a fresh single-task teacher.
REFERENCE = ("default-student", Path("checkpoints/default-student"))
# The teachers' own configs, trained at the ablation's budget in the ablation's directory.
TEACHERS = [
    (f"teacher-{task}", f"teacher-{task}.yaml", [f"output_dir=runs/ablation/teacher-{task}"])
    for task in ("qa", "nli")
]
STUDENTS = [
    (name, f"ablation-{name}.yaml", [])
    for name in (
        "1-single-qa", "1-single-nli", "2-multitask", "3-kd", "4-anneal", "5-weighted", "6-smart"
    )
]  # fmt: skip
KD_STUDENTS = ("3-kd", "4-anneal", "5-weighted", "6-smart")
# Throughput depends on the graph, not the weights: one model per architecture is timed.
TIMED = {REFERENCE[0]: "6-layer teacher graph", "2-multitask": "3-layer student graph"}


@dataclass
class Entry:
    name: str
    config: TrainConfig
    wall_s: float
    metrics: dict[str, Any]
    throughput: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    export_error: str = ""


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


def reference_entry(args: argparse.Namespace) -> Entry:
    """The reference teacher, scored on the same dev examples as every run of this ablation."""
    import torch

    from road.training.evaluate import evaluate
    from road.training.model import RoadStudent

    name, checkpoint = REFERENCE
    student_config = run_config("2-multitask", "ablation-2-multitask.yaml", [], args)
    config = dataclasses.replace(student_config, layers=None, output_dir=str(RESULTS / name))
    scores = RESULTS / name / f"dev_metrics-limit{args.dev_limit or 'all'}.json"
    if not scores.is_file():
        torch.set_num_threads(config.threads or torch.get_num_threads())
        metrics = evaluate(RoadStudent.from_pretrained(checkpoint), config, checkpoint)
        scores.parent.mkdir(parents=True, exist_ok=True)
        scores.write_text(json.dumps(metrics, indent=2))
    note = f"`{checkpoint}`, trained before this ablation (docs/models.md)"
    return Entry(name, config, math.nan, json.loads(scores.read_text()), note=note)


def checkpoint_of(entry: Entry) -> Path:
    return REFERENCE[1] if entry.name == REFERENCE[0] else Path(entry.config.output_dir) / FINAL


def measure(entry: Entry, dev_limit: int | None) -> None:
    """Export to a static INT8 CPU bundle (what road ships), then time it; failures are shown."""
    final = checkpoint_of(entry)
    bundle = Path(entry.config.output_dir) / "bundle-int8"
    try:
        if not (bundle / "manifest.json").is_file():
            # These bundles exist to be timed: the INT8 quality gate reports, it does not block.
            export_bundle(
                final, bundle, quantization="static", dev_limit=dev_limit, metric_budget=100.0
            )
        entry.throughput = bundle_throughput(bundle, entry.config, final)
    except RoadError as exc:
        entry.export_error = f"export failed: {exc}"


def cell(metrics: dict[str, Any], task: str, key: str) -> str:
    value = metrics.get(task, {}).get(key)
    return "–" if value is None else f"{value:.1f}"


def teachers_of(config: TrainConfig) -> str:
    """The run names of a student's teachers ('–' without distillation)."""
    if config.distill is None:
        return "–"
    names = {
        task: [REFERENCE[0] if Path(t) == REFERENCE[1] else Path(t).parent.name for t in sources]
        for task, sources in config.distill.teachers.items()
    }
    return "; ".join(f"{task}: {' + '.join(n)}" for task, n in names.items())


def table(entries: list[Entry]) -> str:
    lines = [
        "| run | layers | steps | teachers | QA EM | QA F1 | NLI acc | wall time | curve |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        layers = len(e.config.layers) if e.config.layers else 6
        trained_here = not math.isnan(e.wall_s)
        steps = e.config.steps if trained_here else "–"
        wall = f"{e.wall_s / 60:.1f} min" if trained_here else e.note
        plot = f"[png](img/distillation/{e.name}.png)" if trained_here else "–"
        lines.append(
            f"| {e.name} | {layers} | {steps} | {teachers_of(e.config)} "
            f"| {cell(e.metrics, 'qa', 'exact')} | {cell(e.metrics, 'qa', 'f1')} "
            f"| {cell(e.metrics, 'nli', 'accuracy')} | {wall} | {plot} |"
        )
    return "\n".join(lines)


def throughput_table(entries: list[Entry]) -> str:
    lines = [
        "| graph | timed bundle | QA rows/s b1 | QA b32 | NLI rows/s b1 | NLI b32 | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        if e.name not in TIMED:
            continue
        t = e.throughput
        lines.append(
            f"| {TIMED[e.name]} | `{e.config.output_dir}/bundle-int8` "
            f"| {cell(t, 'qa', 'batch_1')} | {cell(t, 'qa', 'batch_32')} "
            f"| {cell(t, 'nli', 'batch_1')} | {cell(t, 'nli', 'batch_32')} | {e.export_error} |"
        )
    return "\n".join(lines)


def targets(entries: list[Entry]) -> str:
    """The issue's targets for the best KD student: ≥95% of the teachers, ≥+1 over (1)."""
    by_name = {e.name: e for e in entries}
    teacher_names = [REFERENCE[0], *(n for n, _, _ in TEACHERS)]
    lines = []
    for task, key, single in (("qa", "f1", "1-single-qa"), ("nli", "accuracy", "1-single-nli")):
        teacher, best_teacher = max(
            (by_name[n].metrics[task][key], n)
            for n in teacher_names
            if n in by_name and task in by_name[n].metrics
        )
        best = max(KD_STUDENTS, key=lambda n: by_name[n].metrics[task][key])
        value = by_name[best].metrics[task][key]
        base = by_name[single].metrics[task][key]
        ratio, gain = 100 * value / teacher, value - base
        lines.append(
            f"- {task.upper()} {key}: best KD student `{best}` {value:.1f} = "
            f"{ratio:.1f}% of the best teacher `{best_teacher}` ({teacher:.1f}); "
            f"{gain:+.1f} points over `{single}` ({base:.1f}). "
            f"Targets: ≥ 95% {'met' if ratio >= 95 else 'missed'}, "
            f"≥ +1 point {'met' if gain >= 1 else 'missed'}."
        )
    return "\n".join(lines)


def write_doc(entries: list[Entry], command: str) -> None:
    text = DOC.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    body = (
        f"Produced by `{command}`.\n\n{table(entries)}\n\n"
        f"{throughput_table(entries)}\n\n{targets(entries)}\n"
    )
    DOC.write_text(f"{head}{BEGIN}\n{body}{END}{tail}")


def save_results(entries: list[Entry]) -> None:
    rows = [{**e.__dict__, "config": e.config.output_dir} for e in entries]
    (RESULTS / "results.json").write_text(json.dumps(rows, indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="steps of every student (same budget)")
    parser.add_argument("--teacher-steps", type=int, help="steps of every teacher")
    parser.add_argument("--dev-limit", type=int, help="score the first N dev examples per task")
    parser.add_argument("--train-limit", type=int, help="train on N examples per task")
    parser.add_argument("--set", action="append", default=[], help="override for every run")
    parser.add_argument("--skip-export", action="store_true", help="no bundles, no throughput")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    entries = [reference_entry(args)]
    for name, file, extra in [*TEACHERS, *STUDENTS]:
        entry = train_entry(name, run_config(name, file, extra, args))
        plot_curve(Path(entry.config.output_dir) / "log.jsonl", PLOTS / f"{entry.name}.png", name)
        entries.append(entry)
        save_results(entries)
    if not args.skip_export:
        for entry in entries:
            if entry.name in TIMED:
                measure(entry, args.dev_limit)
        save_results(entries)
    write_doc(entries, " ".join([COMMAND, *argv]))


if __name__ == "__main__":
    main()
