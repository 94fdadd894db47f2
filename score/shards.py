"""The output directory: result shards, bad-row shards and the merged errors file.

Every file appears by atomic rename of a finished temporary file, so a killed job leaves either a
whole shard or none. Names starting with `_` or `.` are skipped by Parquet dataset readers
(pyarrow, Spark, DuckDB, Ray), so the directory reads as one dataset of results.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from road.core.tasks import TaskKind, TaskSpec
from road.score.config import OutputFormat
from road.score.inputs import IdColumn

ERRORS_DIR = "_errors"
ERRORS_FILE = "_errors.jsonl"
EXTENSIONS: dict[OutputFormat, str] = {"parquet": "parquet", "jsonl": "jsonl"}

_ANSWER = pa.struct(
    [("answer", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("score", pa.float64())]
)
# What a text-pair answer adds when its pair did not fit one window (null otherwise).
_PAIR_FIELDS = [
    ("evidence", pa.struct([("start", pa.int64()), ("end", pa.int64()), ("text", pa.string())])),
    ("truncated", pa.bool_()),
]


def result_schema(task: TaskSpec, ids: IdColumn) -> pa.Schema:
    """Columns of the output: the id, then the fields of the HTTP response."""
    if task.kind is TaskKind.SPAN_EXTRACTION:
        fields = [(name, _ANSWER.field(name).type) for name in _ANSWER.names]
        fields.append(("answers", pa.list_(_ANSWER)))
    else:
        scores = pa.struct([(label, pa.float64()) for label in task.labels])
        fields = [("label", pa.string()), ("scores", scores)]
        fields += _PAIR_FIELDS if len(task.fields) == 2 else []
    # True where the row's `min_score` made the answer abstain, null otherwise.
    fields.append(("abstained", pa.bool_()))
    if ids.name in {name for name, _ in fields}:
        raise ValueError(f"the id column {ids.name!r} clashes with an output field")
    return pa.schema([(ids.name, ids.type), *fields])


def shard_name(index: int, fmt: OutputFormat) -> str:
    return f"part-{index:05d}.{EXTENSIONS[fmt]}"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through `.<name>.tmp` beside `path`, sync it, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json_lines(path: Path, records: Iterable[dict[str, Any]]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as handle:
            _dump_lines(handle, records)

    atomic_write(path, write)


def _dump_lines(handle: IO[str], records: Iterable[dict[str, Any]]) -> None:
    for record in records:
        # default=str: Parquet ids of exotic types still land in the errors file.
        handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def write_results(
    out_dir: Path,
    index: int,
    results: pa.Table | Sequence[dict[str, Any]],
    schema: pa.Schema,
    fmt: OutputFormat,
) -> Path:
    """One shard of results, in the output format; an empty chunk gives an empty shard."""
    path = out_dir / shard_name(index, fmt)
    if isinstance(results, pa.Table):
        table = results.cast(schema)
    else:
        table = pa.Table.from_pylist(list(results), schema=schema)
    if fmt == "jsonl":
        # Like the HTTP responses: a null field (QA `answers` when top_k is 1) is left out.
        records = ({k: v for k, v in r.items() if v is not None} for r in table.to_pylist())
        write_json_lines(path, records)
    else:
        atomic_write(path, lambda tmp: pq.write_table(table, tmp))
    return path


def write_bad_rows(out_dir: Path, index: int, bad: Sequence[dict[str, Any]]) -> None:
    """A chunk's bad rows (`BadRow.record()`), beside its result shard; nothing when none."""
    if bad:
        (out_dir / ERRORS_DIR).mkdir(exist_ok=True)
        write_json_lines(out_dir / ERRORS_DIR / f"part-{index:05d}.jsonl", bad)


def merge_errors(out_dir: Path) -> Path:
    """All bad rows in input order, in one file (empty when every row was scored)."""
    parts = sorted((out_dir / ERRORS_DIR).glob("part-*.jsonl"))

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as handle:
            for part in parts:
                handle.write(part.read_text(encoding="utf-8"))

    path = out_dir / ERRORS_FILE
    atomic_write(path, write)
    return path


def result_files(out_dir: Path) -> list[Path]:
    return sorted(p for p in out_dir.glob("part-*") if p.suffix in (".parquet", ".jsonl"))


def read_output(out_dir: str | Path) -> list[dict[str, Any]]:
    """Every result row in input order, without null fields: the HTTP responses plus the id."""
    rows: list[dict[str, Any]] = []
    for path in result_files(Path(out_dir)):
        if path.suffix == ".parquet":
            records = pq.read_table(path).to_pylist()
        else:
            with path.open(encoding="utf-8") as handle:
                records = [json.loads(line) for line in handle]
        rows.extend({k: v for k, v in r.items() if v is not None} for r in records)
    return rows


def read_errors(out_dir: str | Path) -> list[dict[str, Any]]:
    with (Path(out_dir) / ERRORS_FILE).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]
