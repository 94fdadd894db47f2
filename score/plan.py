"""What the inputs hold: `plan_job` reads the first input's columns before any engine starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from road.core.bundle import load_manifest
from road.core.tasks import TaskSpec
from road.score.config import JobConfig, JobError, Task
from road.score.inputs import (
    IdColumn,
    detect_task,
    id_column,
    peek_schema,
    request_fields,
    resolve_inputs,
)
from road.score.shards import result_schema


@dataclass(frozen=True)
class Plan:
    """What the inputs hold: the files, the task, the id column and the output's schema."""

    paths: list[Path]
    task: Task
    spec: TaskSpec
    ids: IdColumn
    schema: pa.Schema
    # Input columns worth reading: the task's request fields and the id.
    columns: tuple[str, ...]


def plan_job(config: JobConfig) -> Plan:
    """Resolve the inputs and read the first one's columns: task, id column, output schema."""
    paths = resolve_inputs(config.inputs)
    name = config.id_column or "id"
    schema = peek_schema(paths[0], name)
    tasks = bundle_tasks(config.bundle)
    task = detect_task(schema.names, config.task, tasks)
    spec = next(t for t in tasks if t.name == task)
    ids = id_column(schema, name, explicit=config.id_column is not None)
    try:
        output = result_schema(spec, ids)
    except ValueError as exc:
        raise JobError(f"{exc}; pass --id-column") from exc
    columns = (*request_fields(spec), *([ids.name] if ids.from_column else []))
    return Plan(paths, task, spec, ids, output, columns)


def bundle_tasks(bundle: Path) -> list[TaskSpec]:
    """The tasks the bundle's manifest lists (its files are verified when the engine loads it)."""
    return load_manifest(bundle, verify=False).tasks.specs()
