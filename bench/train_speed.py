"""Training speed on this machine: today's fp32 path against each speed-up, added one by one.

Every variant trains the real 6-layer MiniLM student with the real loop (`road.training.loop`:
forward, backward, clipping, AdamW) on real rows of the shared data, in one process, so the
ratios come from one run on one machine. Throughput counts training examples (QA windows, NLI
pairs) per second after warm-up steps; padding efficiency is real tokens ÷ padded tokens over
the measured steps.

    python -m bench.train_speed --steps 8 --out bench/results/train_speed/run.json

Quality at a fixed number of steps (fp32 path vs the fast path, full dev files) is a separate,
slower mode: `--quality-steps 300`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from bench.host import machine

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"
TASK_CONFIG = {"qa": CONFIGS / "teacher-qa.yaml", "nli": CONFIGS / "teacher-nli.yaml"}


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    precision: str
    attn_implementation: str | None
    attention_dropout: float | None
    freeze_word_embeddings: bool
    length_group_batches: int


# Cumulative: each adds one change to the one before. The first is the path before this work.
VARIANTS = (
    Variant("fp32 (before)", "fp32", None, None, False, 0),
    Variant("+ bf16 autocast", "bf16", None, None, False, 0),
    Variant("+ eager attention, no attention dropout", "bf16", "eager", 0.0, False, 0),
    Variant("+ frozen word embeddings", "bf16", "eager", 0.0, True, 0),
    Variant("+ length-grouped batches", "bf16", "eager", 0.0, True, 50),
)
FAST = VARIANTS[-1]


def variant_overrides(variant: Variant) -> list[str]:
    pairs = {
        "precision": variant.precision,
        "attn_implementation": variant.attn_implementation,
        "attention_dropout": variant.attention_dropout,
        "freeze_word_embeddings": variant.freeze_word_embeddings,
        "length_group_batches": variant.length_group_batches,
    }
    return [
        f"{key}={'null' if value is None else json.dumps(value)}" for key, value in pairs.items()
    ]


def measure(
    task: str, variant: Variant, steps: int, warmup: int, limit: int, out: Path
) -> dict[str, Any]:
    """Examples/s and padding efficiency of `steps` real training steps of one variant."""
    from road.training.config import load_config
    from road.training.features import padding_efficiency
    from road.training.loop import run_step, setup

    overrides = [
        f"output_dir={out / task / variant.name.replace(' ', '_')}",
        f"steps={warmup + steps}", "save_every=1000000", "eval_every=0",
        f"{task}.train_limit={limit}", *variant_overrides(variant),
    ]  # fmt: skip
    run = setup(load_config(TASK_CONFIG[task], overrides))
    run.trainee.student.train()
    for _ in range(warmup):
        run_step(run)
    lengths = {name: f.lengths() for name, f in run.features.items()}
    rows = sum(len(indices) for k in range(warmup, warmup + steps)
               for _, indices in run.sampler.draws_at(k))  # fmt: skip
    started = time.perf_counter()
    for _ in range(steps):
        run_step(run)
    seconds = time.perf_counter() - started
    measured = padding_efficiency(run.sampler, lengths, steps, first=warmup)
    return {
        "task": task, "variant": variant.name, "steps": steps, "examples": rows,
        "seconds": seconds, "s_per_step": seconds / steps, "examples_per_s": rows / seconds,
        "padding_efficiency": measured[task], "precision": run.precision.reason,
    }  # fmt: skip


def quality(task: str, steps: int, seeds: list[int], out: Path) -> dict[str, Any]:
    """Full-dev metrics after `steps` steps: the fp32 path at the first seed, the fast path at
    every seed (their spread is the noise the fp32-vs-fast difference is read against)."""
    from road.training.config import load_config
    from road.training.loop import train

    runs = []
    for variant, seed in [(VARIANTS[0], seeds[0]), *((FAST, s) for s in seeds)]:
        overrides = [
            f"output_dir={out / 'quality' / task / f'{variant.name}-{seed}'.replace(' ', '_')}",
            f"steps={steps}", f"seed={seed}", "eval_every=0", f"save_every={steps}",
            *variant_overrides(variant),
        ]  # fmt: skip
        started = time.perf_counter()
        metrics = train(load_config(TASK_CONFIG[task], overrides))
        wall = time.perf_counter() - started
        runs.append({"variant": variant.name, "seed": seed, "dev": metrics, "wall_s": wall})
        print(json.dumps(runs[-1]), flush=True)
    return {"task": task, "steps": steps, "runs": runs}


def main(
    steps: Annotated[int, typer.Option(help="Measured steps per variant and task")] = 8,
    warmup: Annotated[int, typer.Option(help="Unmeasured steps first")] = 2,
    limit: Annotated[
        int, typer.Option(help="Training rows drawn from (spread over the file)")
    ] = 6000,
    tasks: Annotated[str, typer.Option(help="Comma-separated: qa,nli")] = "qa,nli",
    quality_steps: Annotated[
        int, typer.Option(help="Also train fp32 vs fast this long; 0: no")
    ] = 0,
    quality_seeds: Annotated[
        str, typer.Option(help="Seeds of the fast path's quality runs")
    ] = "13",
    quality_tasks: Annotated[str, typer.Option(help="Tasks of the quality runs")] = "nli",
    out: Annotated[Path, typer.Option(help="Result JSON")] = Path("runs/train_speed/result.json"),
) -> None:
    """Measure every variant on every task; print a table and write the JSON."""
    work = out.parent / "work"
    result: dict[str, Any] = {"machine": machine(), "runs": [], "quality": []}
    for task in tasks.split(","):
        for variant in VARIANTS:
            record = measure(task, variant, steps, warmup, limit, work)
            result["runs"].append(record)
            print(format_row(record, result["runs"]), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    for task in quality_tasks.split(",") if quality_steps else []:
        seeds = [int(seed) for seed in quality_seeds.split(",")]
        result["quality"].append(quality(task, quality_steps, seeds, work))
        out.write_text(json.dumps(result, indent=2))


def format_row(record: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    base = next(r for r in runs if r["task"] == record["task"])
    ratio = record["examples_per_s"] / base["examples_per_s"]
    return (
        f"{record['task']:4} {record['variant']:42} {record['s_per_step']:6.2f} s/step "
        f"{record['examples_per_s']:7.1f} ex/s  {ratio:4.2f}x  padding eff "
        f"{record['padding_efficiency']:.2f}"
    )


if __name__ == "__main__":
    typer.run(main)
