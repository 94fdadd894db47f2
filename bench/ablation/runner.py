"""The distillation ablation of docs/distillation.md: five 3-layer students, second seeds, teachers.

    python -m bench.ablation --list
    python -m bench.ablation --run 4-road-anneal [--seed 29] [--max-steps N] [--set key=value]
    python -m bench.ablation --all [--max-steps N]     # every planned run not yet finished
    python -m bench.ablation --teachers                # score the teachers only
    python -m bench.ablation --summary                 # table, checks, curves from summary.json
    python -m bench.ablation --shapes                  # item 3: the shape runs (SHAPES)
    python -m bench.ablation --speed                   # every finished run timed as INT8

A run resumes from runs/ablation/NAME/checkpoint-last (`road train`); `--max-steps` stops a run
after that many steps this invocation (a session-sized chunk), the next invocation continues.
`--run` and `--all` first score the teachers that have no entry yet (`--no-teachers`: not).
Each finished run adds its entry to bench/results/ablation/summary.json, plots its curve and
rewrites the results section of docs/distillation.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.ablation import report, speed, summary
from bench.ablation.runs import (
    BASE_SEED,
    RUNS,
    SHAPES,
    Run,
    parse_name,
    planned,
    run_config,
    run_name,
    teacher_name,
    teacher_tasks,
)
from bench.ablation.teachers import (
    committed_metrics,
    eval_config,
    teacher_entry,
    teachers_to_score,
)
from road.runtime.settings import default_bundle
from road.training.config import TrainConfig

COMMAND = "python -m bench.ablation"
FINAL, LAST = "final", "checkpoint-last"  # road.training.loop's names, without importing torch
WALL = "wall_time.json"


def status(config: TrainConfig) -> str:
    """`finished`, `at step N of M` or `not started`, from the run's directory."""
    out = Path(config.output_dir)
    if (out / FINAL / "dev_metrics.json").is_file():
        return "finished"
    state = out / LAST / "trainer_state.pt"
    if state.is_file():
        import torch

        step = torch.load(state, mmap=True, weights_only=False)["step"]
        return f"at step {step} of {config.steps}"
    return "not started"


def train_run(config: TrainConfig, max_steps: int | None) -> bool:
    """Train (or continue) one run; True once `final/` exists. Wall time adds up over sessions."""
    from road.training.loop import train

    out = Path(config.output_dir)
    if (out / FINAL / "dev_metrics.json").is_file():
        return True
    timing = out / WALL
    started = time.perf_counter()
    train(config, max_steps)
    before = json.loads(timing.read_text())["seconds"] if timing.is_file() else 0.0
    timing.write_text(json.dumps({"seconds": before + time.perf_counter() - started}))
    return (out / FINAL / "dev_metrics.json").is_file()


def run_entry(run: Run, seed: int, config: TrainConfig, command: str) -> dict[str, Any]:
    """The summary entry of a finished run, from its final/ dev metrics and wall time."""
    out = Path(config.output_dir)
    metrics = json.loads((out / FINAL / "dev_metrics.json").read_text())
    teachers = config.distill.teachers if config.distill is not None else {}
    wall = out / WALL
    return {
        "name": run_name(run.name, seed),
        "layers": len(config.layers) if config.layers is not None else 6,
        "method": run.method,
        "kd": config.distill is not None,
        "seed": seed,
        **summary.scores(metrics),
        "steps": metrics.get("train_steps", config.steps),
        "wall_s": round(json.loads(wall.read_text())["seconds"], 1) if wall.is_file() else None,
        "teachers": teachers,
        "smart": config.smart is not None,
        "config": f"training/configs/{run.config_file.name}",
        "output_dir": str(out),
        "command": command,
        "machine": summary.machine(),
        "finished": summary.stamp(),
    }


def finish(run: Run, seed: int, config: TrainConfig, command: str) -> None:
    entry = run_entry(run, seed, config, command)
    entries = summary.upsert(entry, summary.SUMMARY)
    report.plot(entry["name"], Path(config.output_dir) / "log.jsonl")
    report.write_doc(entries)


def score_teachers(overrides: list[str]) -> None:
    """Add (or refresh) the entries of teachers whose weights have no entry yet."""
    names = {teacher_name(source) for source in teacher_tasks()}
    summary.keep_only_teachers(names, summary.SUMMARY)
    todo = teachers_to_score(summary.load(summary.SUMMARY))
    # Those with usable committed metrics first: an interrupted scoring keeps the cheap entries.
    todo.sort(key=lambda t: committed_metrics(Path(t[0]), eval_config(t[1], overrides)) is None)
    for source, tasks in todo:
        print(f"{COMMAND}: teacher {source} ({', '.join(tasks)})", file=sys.stderr)
        summary.upsert(teacher_entry(source, tasks, overrides), summary.SUMMARY)


def list_runs(overrides: list[str]) -> None:
    entries = summary.load(summary.SUMMARY)
    done = {e["name"] for e in entries}
    for run, seed in [*planned(entries), *((shape, BASE_SEED) for shape in SHAPES)]:
        config = run_config(run, seed, overrides)
        name = run_name(run.name, seed)
        note = " (in summary.json)" if name in done else ""
        print(f"{name:22} {status(config)}{note}  [{config.output_dir}]")


def run_one(full: str, seed: int | None, args: argparse.Namespace, command: str) -> bool:
    run, named_seed = parse_name(full)
    seed = named_seed if seed is None else seed
    config = run_config(run, seed, args.set)
    print(f"{COMMAND}: {run_name(run.name, seed)} {status(config)}", file=sys.stderr)
    if not train_run(config, args.max_steps):
        print(f"{COMMAND}: {run_name(run.name, seed)} {status(config)}", file=sys.stderr)
        return False
    finish(run, seed, config, command)
    return True


def parser() -> argparse.ArgumentParser:
    assert __doc__ is not None
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--list", action="store_true", help="the planned runs and their state")
    mode.add_argument("--run", metavar="NAME", help="train one run, e.g. 1-multitask")
    mode.add_argument("--all", action="store_true", help="every planned run not yet finished")
    mode.add_argument("--teachers", action="store_true", help="score the teachers only")
    mode.add_argument("--summary", action="store_true", help="rewrite the doc from summary.json")
    mode.add_argument("--shapes", action="store_true", help="every shape run (item 3) not finished")
    mode.add_argument("--speed", action="store_true", help="time every finished run as INT8")
    p.add_argument("--seed", type=int, help="another seed: output dir and name get -sSEED")
    p.add_argument("--max-steps", type=int, help="stop each run after N steps this time")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        help="config override for every run "
        "(distill.*, smart.*: for the runs that have the section)",
    )
    p.add_argument("--no-teachers", action="store_true", help="do not score missing teachers")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    command = " ".join([COMMAND, *argv])
    if args.list:
        list_runs(args.set)
        return 0
    if args.summary or args.speed:
        entries = summary.load(summary.SUMMARY)
        if args.speed:
            speed.save(speed.measure(entries, default_bundle()))
        report.replot(entries)
        report.write_doc(entries)
        return 0
    if not args.no_teachers:  # first, so the checks have their teachers from the first run on
        score_teachers(args.set)
        report.write_doc(summary.load(summary.SUMMARY))
    if args.run:
        run_one(args.run, args.seed, args, command)
    elif args.all:
        # The second seeds follow the base-seed results, so they are planned after those ran.
        for stage in (slice(0, len(RUNS)), slice(len(RUNS), None)):
            for run, seed in planned(summary.load(summary.SUMMARY))[stage]:
                if not run_one(run_name(run.name, seed), None, args, command):
                    return 0  # stopped by --max-steps: the next invocation continues this run
    elif args.shapes:
        for run in SHAPES:
            if not run_one(run.name, None, args, command):
                return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
