"""Input files: globs, formats, columns, the task they hold and the id column."""

from __future__ import annotations

import glob
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from road.core.data import open_text
from road.core.tasks import DEFAULT_TASKS, TaskKind, TaskSpec
from road.score.config import JobError, Task

InputFormat = Literal["parquet", "csv", "jsonl"]

SUFFIXES: dict[str, InputFormat] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
# Per kind, the optional request fields a row may carry besides the task's input fields.
OPTION_FIELDS: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.SPAN_EXTRACTION: (
        "top_k",
        "max_answer_len",
        "allow_no_answer",
        "null_threshold",
        "min_score",
    ),
    TaskKind.CLASSIFICATION: ("truncation", "min_score"),
}
ALL_OPTIONS = frozenset(name for names in OPTION_FIELDS.values() for name in names)
TEXT_FIELDS = tuple(dict.fromkeys(f for task in DEFAULT_TASKS.values() for f in task.fields))


def request_fields(task: TaskSpec) -> tuple[str, ...]:
    """The columns a row of the task is read from: its input fields, then its options."""
    return (*task.fields, *OPTION_FIELDS[task.kind])


# Keys of the first JSON lines read to learn a JSON lines file's columns.
PEEK_LINES = 100


def input_format(path: str | Path) -> InputFormat:
    """The format a file's suffix names; `.gz` is allowed on CSV and JSON lines."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None or (fmt == "parquet" and str(path).lower().endswith(".gz")):
        known = ", ".join(sorted(SUFFIXES))
        raise JobError(f"{path}: unknown input format (known suffixes: {known}, .gz for text)")
    return fmt


def resolve_inputs(patterns: Sequence[str]) -> list[Path]:
    """Paths, globs and directories to a sorted, de-duplicated list of files of one format."""
    found: list[Path] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = [Path(p) for p in sorted(glob.glob(pattern, recursive=True))]
        elif Path(pattern).is_dir():
            matches = sorted(p for p in Path(pattern).iterdir() if _known(p))
        elif Path(pattern).is_file():
            matches = [Path(pattern)]
        else:
            raise JobError(f"{pattern}: no such file")
        files = [p.resolve() for p in matches if p.is_file()]
        if not files:
            raise JobError(f"{pattern}: matches no input file")
        found.extend(p for p in files if p not in found)
    formats = {input_format(p) for p in found}
    if len(formats) > 1:
        raise JobError(f"inputs mix formats ({', '.join(sorted(formats))}); score them separately")
    return found


def _known(path: Path) -> bool:
    try:
        return path.is_file() and bool(input_format(path))
    except JobError:
        return False


def csv_options(id_name: str, columns: Sequence[str] | None = None) -> pacsv.ConvertOptions:
    """Text and id columns are always strings (CSV has no types); a missing column reads as null.

    Every requested column but the request options is text."""
    text = [c for c in columns or () if c not in ALL_OPTIONS]
    return pacsv.ConvertOptions(
        column_types={name: pa.string() for name in (*TEXT_FIELDS, *text, id_name)},
        include_columns=list(columns) if columns else None,
        include_missing_columns=columns is not None,
    )


def csv_stream(
    path: Path, id_name: str, columns: Sequence[str] | None = None
) -> pacsv.CSVStreamingReader:
    """A streaming CSV reader, one block (about 1 MB) at a time."""
    stream = pa.input_stream(str(path))
    return pacsv.open_csv(stream, convert_options=csv_options(id_name, columns))


def first_json_rows(path: Path, limit: int = PEEK_LINES) -> list[dict[str, Any]]:
    """The first `limit` JSON objects of a JSON lines file, skipping unreadable lines."""
    rows: list[dict[str, Any]] = []
    with open_text(path) as handle:
        for line in handle:
            try:
                value = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                rows.append(value)
            if len(rows) >= limit:
                break
    return rows


def peek_schema(path: Path, id_name: str) -> pa.Schema:
    """The columns of one input file and their types (JSON lines: from the first rows)."""
    fmt = input_format(path)
    if fmt == "parquet":
        return pq.read_schema(path)
    if fmt == "csv":
        with csv_stream(path, id_name) as reader:
            return reader.schema
    rows = first_json_rows(path)
    names = list(dict.fromkeys(key for row in rows for key in row))
    return pa.schema([pa.field(name, _json_type(rows, name)) for name in names])


def _json_type(rows: Iterable[dict[str, Any]], name: str) -> pa.DataType:
    value = next((row[name] for row in rows if row.get(name) is not None), None)
    return pa.scalar(value).type


def detect_task(
    columns: Iterable[str],
    requested: Task | None,
    tasks: Sequence[TaskSpec] = tuple(DEFAULT_TASKS.values()),
) -> Task:
    """The task named (one of `tasks`, the bundle's), else the one whose fields are all there."""
    names = [task.name for task in tasks]
    if requested is not None:
        if requested not in names:
            raise JobError(f"the bundle serves no task {requested!r} (it serves: {names})")
        return requested
    present = set(columns)
    matches = [task.name for task in tasks if present.issuperset(task.fields)]
    if len(matches) != 1:
        detail = ("both" if len(matches) == 2 else "several") if matches else "neither"
        wanted = " and ".join(f"{'/'.join(t.fields)} ({t.name})" for t in tasks)
        raise JobError(
            f"cannot tell the task from the columns ({', '.join(sorted(present))}): {detail} "
            f"of {wanted} found; pass --task"
        )
    return matches[0]


@dataclass(frozen=True)
class IdColumn:
    """Where ids come from: a column (kept with its type) or, without one, the row number."""

    name: str
    type: pa.DataType
    from_column: bool


def id_column(schema: pa.Schema, name: str, explicit: bool) -> IdColumn:
    """The job's id column; without one the id is the row's 0-based number across the inputs."""
    if name not in schema.names:
        if explicit:
            raise JobError(f"no id column {name!r} in the input (columns: {schema.names})")
        return IdColumn(name, pa.int64(), from_column=False)
    kind = schema.field(name).type
    if not (
        pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
    ):
        raise JobError(f"id column {name!r} must hold strings or integers, not {kind}")
    return IdColumn(name, kind, from_column=True)


def count_rows(paths: Sequence[Path], id_name: str) -> int:
    """Rows in all inputs (a pass over CSV and JSON lines files; Parquet reads only metadata)."""
    total = 0
    for path in paths:
        fmt = input_format(path)
        if fmt == "parquet":
            total += pq.ParquetFile(path).metadata.num_rows
        elif fmt == "csv":
            first = peek_schema(path, id_name).names[0]
            with csv_stream(path, id_name, [first]) as reader:
                total += sum(batch.num_rows for batch in reader)
        else:
            with open_text(path) as handle:
                total += sum(1 for line in handle if line.strip())
    return total
