"""The ablation's runs and teachers (docs/distillation.md#ablation): names, configs, seeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import road.training
from road.core.tasks import NLI, QA
from road.training.config import TrainConfig, load_config

# The runs are ordinary training configs, shipped with road.training (`road train` takes them).
CONFIGS = Path(road.training.__file__).resolve().parent / "configs"
BASE_SEED = 13

# The teachers of every KD run, per task, first teacher first: the one place they are named
# (the runner sets every KD config's `distill.teachers` from here). checkpoints/teacher-qa is the
# QA teacher's final stage, committed later; until then its stage 1 stands in.
TEACHER_QA = "checkpoints/teacher-qa"
TEACHERS: dict[str, list[str]] = {
    QA.name: [TEACHER_QA, "checkpoints/default-student"],
    NLI.name: ["checkpoints/teacher-nli-qa-init", "checkpoints/teacher-nli"],
}


@dataclass(frozen=True)
class Run:
    """One ablation run: its number and name, its config file and what it tests.

    A shape run (item 3) is another run's config (`base`) with `overrides` on top: the same
    budget and recipe, another student shape.
    """

    name: str
    method: str
    base: str = ""
    overrides: tuple[str, ...] = ()

    @property
    def config_file(self) -> Path:
        return CONFIGS / f"ablation-{self.base or self.name}.yaml"


RUNS = (
    Run("1-multitask", "multi-task, no KD"),
    Run("2-kd-average", "KD, averaged teachers"),
    Run("3-kd-anneal", "KD, averaged teachers + BAM annealing"),
    Run("4-road-anneal", "ROaD weighted KD + BAM annealing"),
    Run("5-road-smart", "ROaD weighted KD + BAM annealing + SMART"),
)
# Item 3, smaller and faster: other shapes with the recipe of SHAPE_BASE, each scored like the
# runs above and timed as an INT8 bundle (`--speed`). SHAPE_BASE is round 1's best KD variant
# (docs/distillation.md#reading); the shapes run after round 2 says whether it still is.
SHAPE_BASE = "2-kd-average"
SHAPES = (
    Run("6-four-layers", "(2) with 4 layers (MiniLM 0-3)", SHAPE_BASE, ("layers=[0, 1, 2, 3]",)),
    Run("7-top-layers", "(2) with MiniLM's top layers 3-5", SHAPE_BASE, ("layers=[3, 4, 5]",)),
    Run("8-middle-layers", "(2) with MiniLM's middle layers 2-4", SHAPE_BASE,
        ("layers=[2, 3, 4]",)),
    Run("9-hidden-mse", "(2) + hidden-state MSE to the teachers' last layer", SHAPE_BASE,
        ("distill.hidden_mse=1.0",)),
)  # fmt: skip
BY_NAME = {run.name: run for run in (*RUNS, *SHAPES)}
# Second-seed runs: (1) and the two best KD variants. Until every variant has its base-seed entry
# in summary.json the plan names (4) and (5); then `second_seed_runs` picks from the results.
SECOND_SEED = 29
SECOND_SEED_RUNS = ("1-multitask", "4-road-anneal", "5-road-smart")


def _mean_score(entry: dict[str, Any]) -> float:
    """The ranking of a variant: mean of dev QA HasAns F1 and NLI accuracy (equal weight)."""
    return (float(entry["qa_f1"]) + float(entry["nli_acc"])) / 2


def second_seed_runs(entries: Sequence[dict[str, Any]] = ()) -> tuple[str, ...]:
    """(1) and the two KD variants with the best mean score at the base seed, once all are in."""
    by_name = {e["name"]: e for e in entries}
    variants = [run.name for run in RUNS[1:]]
    if not all(name in by_name for name in variants):
        return SECOND_SEED_RUNS
    best = sorted(variants, key=lambda name: -_mean_score(by_name[name]))[:2]
    return (RUNS[0].name, *sorted(best))


def run_name(name: str, seed: int) -> str:
    """`4-road-anneal`, or `4-road-anneal-s29` for another seed."""
    return name if seed == BASE_SEED else f"{name}-s{seed}"


def parse_name(full: str) -> tuple[Run, int]:
    """The run and seed of `4-road-anneal` or `4-road-anneal-s29`."""
    base, sep, seed = full.rpartition("-s")
    if sep and seed.isdigit() and base in BY_NAME:
        return BY_NAME[base], int(seed)
    if full not in BY_NAME:
        raise KeyError(f"no ablation run {full!r}; runs: {', '.join(BY_NAME)}")
    return BY_NAME[full], BASE_SEED


def planned(entries: Sequence[dict[str, Any]] = ()) -> list[tuple[Run, int]]:
    """What `--all` trains: every run at the base seed, then the second seeds (from `entries`)."""
    second = [(BY_NAME[name], SECOND_SEED) for name in second_seed_runs(entries)]
    return [(run, BASE_SEED) for run in RUNS] + second


def run_config(
    run: Run, seed: int = BASE_SEED, overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """The run's config with the ablation's teachers, its seed and output dir, then `overrides`."""
    config = load_config(run.config_file)
    fixed = [
        f"seed={seed}",
        f"output_dir={Path(config.output_dir).parent / run_name(run.name, seed)}",
    ]
    if config.distill is not None:
        fixed += [
            f"distill.teachers.{task}=[{', '.join(TEACHERS[task])}]"
            for task in config.distill.teachers
        ]
    # `distill.*` / `smart.*` overrides reach only the runs that have the section: applied to
    # run (1) they would give it one (and make it a KD run with no teachers).
    absent = [key for key in ("distill", "smart") if getattr(config, key) is None]
    kept = [o for o in overrides if o.partition(".")[0] not in absent]
    return load_config(run.config_file, [*run.overrides, *fixed, *kept])


def teacher_tasks() -> dict[str, list[str]]:
    """Each teacher checkpoint and the tasks it teaches, in first-named order."""
    tasks: dict[str, list[str]] = {}
    for task, sources in TEACHERS.items():
        for source in sources:
            tasks.setdefault(source, []).append(task)
    return tasks


def teacher_name(source: str) -> str:
    """`teacher-qa-stage1`, `teacher-nli`; a model not named teacher is `teacher-2-<dir>`."""
    name = Path(source).name
    return name if "teacher" in name else f"teacher-2-{name}"
