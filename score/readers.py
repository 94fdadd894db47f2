"""Streaming rows out of the inputs, in fixed-size chunks: the unit of scoring and of resume."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from road.core.data import open_text
from road.score.inputs import csv_stream, input_format

# Rows per Arrow record batch read from Parquet: small enough to keep memory flat.
READ_BATCH_ROWS = 1024


@dataclass(frozen=True)
class Unreadable:
    """A JSON line that is not a JSON object; it becomes a bad row, not a failed job."""

    reason: str


RawRow = dict[str, Any] | Unreadable


@dataclass(frozen=True)
class Chunk:
    """Rows `[first_row, first_row + len(rows))` of the inputs taken as one sequence."""

    index: int
    first_row: int
    rows: list[RawRow]


def parse_json_line(line: str) -> RawRow:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return Unreadable(f"invalid JSON: {exc}")
    if not isinstance(value, dict):
        return Unreadable(f"a JSON line must hold an object, not {type(value).__name__}")
    return value


def iter_rows(paths: Sequence[Path], columns: Sequence[str], id_name: str) -> Iterator[RawRow]:
    """Every row of every input in order, holding only about one read batch at a time."""
    for path in paths:
        fmt = input_format(path)
        if fmt == "parquet":
            yield from _parquet_rows(path, columns)
        elif fmt == "csv":
            with csv_stream(path, id_name, columns) as reader:
                for batch in reader:
                    yield from batch.to_pylist()
        else:
            with open_text(path) as handle:
                yield from (parse_json_line(line) for line in handle if line.strip())


def _parquet_rows(path: Path, columns: Sequence[str]) -> Iterator[RawRow]:
    parquet = pq.ParquetFile(path)
    present = [c for c in columns if c in parquet.schema_arrow.names]
    for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS, columns=present):
        yield from batch.to_pylist()


def iter_chunks(
    paths: Sequence[Path], columns: Sequence[str], id_name: str, chunk_rows: int
) -> Iterator[Chunk]:
    """The inputs cut into chunks of `chunk_rows` rows: the same cuts on every run."""
    rows = iter_rows(paths, columns, id_name)
    for index in itertools.count():
        taken = list(itertools.islice(rows, chunk_rows))
        if not taken:
            return
        yield Chunk(index, index * chunk_rows, taken)
