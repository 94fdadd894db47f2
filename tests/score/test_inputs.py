"""Input discovery, formats, task detection, id columns and chunking (no model)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from road.score.config import JobError
from road.score.inputs import (
    count_rows,
    detect_task,
    id_column,
    input_format,
    peek_schema,
    resolve_inputs,
)
from road.score.readers import Unreadable, iter_chunks, parse_json_line

from .conftest import write_rows

ROWS = [
    {"id": f"r{i}", "premise": f"Premise number {i}.", "hypothesis": "A hypothesis."}
    for i in range(7)
]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("a.csv", "csv"),
        ("a.csv.gz", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.JSONL.gz", "jsonl"),
    ],
)
def test_format_from_suffix(name: str, fmt: str):
    assert input_format(name) == fmt


@pytest.mark.parametrize("name", ["a.txt", "a", "a.parquet.gz"])
def test_unknown_format_is_refused(name: str):
    with pytest.raises(JobError, match="unknown input format"):
        input_format(name)


def test_globs_dirs_and_paths_resolve_sorted_and_deduplicated(tmp_path: Path):
    for name in ("b.jsonl", "a.jsonl", "c.jsonl"):
        write_rows(tmp_path / "in" / name, ROWS)
    (tmp_path / "in" / "notes.txt").write_text("ignored in a directory")
    found = resolve_inputs([str(tmp_path / "in" / "*.jsonl"), str(tmp_path / "in" / "a.jsonl")])
    assert [p.name for p in found] == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert [p.name for p in resolve_inputs([str(tmp_path / "in")])] == [p.name for p in found]


def test_missing_inputs_and_mixed_formats_are_refused(tmp_path: Path):
    with pytest.raises(JobError, match="no such file"):
        resolve_inputs([str(tmp_path / "nope.jsonl")])
    with pytest.raises(JobError, match="matches no input"):
        resolve_inputs([str(tmp_path / "*.parquet")])
    write_rows(tmp_path / "a.jsonl", ROWS)
    write_rows(tmp_path / "b.csv", ROWS)
    with pytest.raises(JobError, match="mix formats"):
        resolve_inputs([str(tmp_path / "a.jsonl"), str(tmp_path / "b.csv")])


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_task_is_detected_from_the_columns_of_each_format(tmp_path: Path, suffix: str):
    qa = write_rows(tmp_path / f"qa{suffix}", [{"question": "Q?", "context": "C.", "x": 1}])
    nli = write_rows(tmp_path / f"nli{suffix}", ROWS)
    assert detect_task(peek_schema(qa, "id").names, None) == "qa"
    assert detect_task(peek_schema(nli, "id").names, None) == "nli"


def test_task_detection_needs_exactly_one_match():
    with pytest.raises(JobError, match="neither"):
        detect_task(["text", "id"], None)
    with pytest.raises(JobError, match="both"):
        detect_task(["question", "context", "premise", "hypothesis"], None)
    assert detect_task(["question", "context", "premise", "hypothesis"], "nli") == "nli"
    assert detect_task(["text"], "qa") == "qa"  # explicit: rows without the fields are bad rows


def test_id_column_types_per_format(tmp_path: Path):
    numbered = [{**row, "id": i} for i, row in enumerate(ROWS)]
    jsonl = peek_schema(write_rows(tmp_path / "a.jsonl", numbered), "id")
    parquet = peek_schema(write_rows(tmp_path / "a.parquet", numbered), "id")
    csv = peek_schema(write_rows(tmp_path / "a.csv", numbered), "id")
    assert id_column(jsonl, "id", explicit=False).type == pa.int64()
    assert id_column(parquet, "id", explicit=False).type == pa.int64()
    # CSV has no types: ids stay text, so "007" keeps its zeros.
    assert id_column(csv, "id", explicit=False).type == pa.string()


def test_without_an_id_column_the_row_number_is_the_id(tmp_path: Path):
    schema = peek_schema(
        write_rows(tmp_path / "a.jsonl", [{"premise": "p", "hypothesis": "h"}]), "id"
    )
    ids = id_column(schema, "id", explicit=False)
    assert not ids.from_column and ids.type == pa.int64()
    with pytest.raises(JobError, match="no id column 'key'"):
        id_column(schema, "key", explicit=True)


def test_float_ids_are_refused(tmp_path: Path):
    schema = peek_schema(write_rows(tmp_path / "a.parquet", [{"id": 1.5, "premise": "p"}]), "id")
    with pytest.raises(JobError, match="strings or integers"):
        id_column(schema, "id", explicit=False)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_chunks_cut_the_inputs_as_one_sequence(tmp_path: Path, suffix: str):
    first = write_rows(tmp_path / f"a{suffix}", ROWS)
    second = write_rows(tmp_path / f"b{suffix}", ROWS[:3])
    columns = ("premise", "hypothesis", "id")
    chunks = list(iter_chunks([first, second], columns, "id", chunk_rows=4))
    assert [(c.index, c.first_row, len(c.rows)) for c in chunks] == [
        (0, 0, 4),
        (1, 4, 4),
        (2, 8, 2),
    ]
    ids = [row["id"] for c in chunks for row in c.rows if isinstance(row, dict)]
    assert ids == [r["id"] for r in ROWS] + [r["id"] for r in ROWS[:3]]
    assert count_rows([first, second], "id") == 10


def test_gzipped_json_lines_and_unreadable_lines(tmp_path: Path):
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write('{"premise": "p", "hypothesis": "h"}\n\n[1, 2]\n{broken\n')
    rows = [row for chunk in iter_chunks([path], ("premise",), "id", 10) for row in chunk.rows]
    assert rows[0] == {"premise": "p", "hypothesis": "h"}
    assert isinstance(rows[1], Unreadable) and "object" in rows[1].reason
    assert isinstance(rows[2], Unreadable) and "invalid JSON" in rows[2].reason
    assert count_rows([path], "id") == 3
    assert parse_json_line('{"a": 1}') == {"a": 1}
