"""`run_job`: plan the job from its inputs, run it on an engine, summarise it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from road.score.config import EXIT_BAD_ROWS, EXIT_OK, JobConfig, JobError, Task
from road.score.inputs import (
    TASK_FIELDS,
    IdColumn,
    detect_task,
    id_column,
    peek_schema,
    resolve_inputs,
)
from road.score.shards import ERRORS_FILE, result_schema


@dataclass(frozen=True)
class Plan:
    """What the inputs hold: the files, the task, the id column and the output's schema."""

    paths: list[Path]
    task: Task
    ids: IdColumn
    schema: pa.Schema
    # Input columns worth reading: the task's request fields and the id.
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    """What a finished job printed and what its exit code says."""

    engine: str
    task: str
    output: str
    errors_file: str
    rows: int
    scored: int
    bad_rows: int
    resumed_rows: int
    seconds: float
    rows_per_s: float

    @property
    def exit_code(self) -> int:
        return EXIT_BAD_ROWS if self.bad_rows else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_job(config: JobConfig) -> Plan:
    """Resolve the inputs and read the first one's columns: task, id column, output schema."""
    paths = resolve_inputs(config.inputs)
    name = config.id_column or "id"
    schema = peek_schema(paths[0], name)
    task = detect_task(schema.names, config.task)
    ids = id_column(schema, name, explicit=config.id_column is not None)
    try:
        output = result_schema(task, ids)
    except ValueError as exc:
        raise JobError(f"{exc}; pass --id-column") from exc
    columns = (*TASK_FIELDS[task], *([ids.name] if ids.from_column else []))
    return Plan(paths, task, ids, output, columns)


def run_job(config: JobConfig) -> Summary:
    """Score the inputs into `config.output` on the configured engine."""
    if config.chunk_rows < 1:
        raise JobError("--chunk-rows must be at least 1")
    plan = plan_job(config)
    if config.engine == "ray":
        from road.score.ray_engine import run_ray

        return run_ray(config, plan)
    from road.score.local import run_local

    return run_local(config, plan)


def summary(
    config: JobConfig, plan: Plan, counts: tuple[int, int, int], resumed: int, started: float
) -> Summary:
    """`counts` is (rows, scored, bad) over the whole job, earlier runs included."""
    seconds = time.monotonic() - started
    rows, scored, bad = counts
    return Summary(
        engine=config.engine,
        task=plan.task,
        output=str(config.output),
        errors_file=str(config.output / ERRORS_FILE),
        rows=rows,
        scored=scored,
        bad_rows=bad,
        resumed_rows=resumed,
        seconds=round(seconds, 3),
        rows_per_s=round((rows - resumed) / seconds, 2) if seconds > 0 else 0.0,
    )
