"""What the inputs hold: `plan_job` reads the first input's columns before any engine starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from road.score.config import JobConfig, JobError, Task
from road.score.inputs import (
    TASK_FIELDS,
    IdColumn,
    detect_task,
    id_column,
    peek_schema,
    resolve_inputs,
)
from road.score.shards import result_schema


@dataclass(frozen=True)
class Plan:
    """What the inputs hold: the files, the task, the id column and the output's schema."""

    paths: list[Path]
    task: Task
    ids: IdColumn
    schema: pa.Schema
    # Input columns worth reading: the task's request fields and the id.
    columns: tuple[str, ...]


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
