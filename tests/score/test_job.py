"""`road score` on the shipped bundle: formats, outputs, bad rows, resume and its refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from road.cli import app
from road.runtime.settings import BatchSettings
from road.score.config import EXIT_BAD_ROWS, JobError
from road.score.job import Summary
from road.score.shards import read_errors, read_output

from .conftest import Rows, write_rows

pytestmark = pytest.mark.integration

Score = Callable[..., Summary]


def bad_nli_lines(good: Rows) -> list[str]:
    """Good rows with every kind of bad row between them, as JSON lines."""
    bad: list[Any] = [
        {"id": "missing", "premise": "A premise only."},
        {"id": "wrong-type", "premise": 5, "hypothesis": "Five."},
        {"id": "too-many-chars", "premise": "x" * 20_001, "hypothesis": "Long."},
        # Within the characters but not the windows: about 110 windows of one-token words.
        {"id": "too-many-windows", "premise": "x " * 9_999, "hypothesis": "Long."},
        {"premise": "No id.", "hypothesis": "None."},
        {"id": 7, "premise": "An integer id.", "hypothesis": "Among strings."},
    ]
    lines = [json.dumps(row) for row in good[:3]] + [json.dumps(row) for row in bad]
    lines += ["{not json", *(json.dumps(row) for row in good[3:])]
    return lines


@pytest.fixture(scope="module")
def nli_formats(real_nli: Rows, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("nli-in")
    return {s: write_rows(root / f"nli{s}", real_nli) for s in (".jsonl", ".csv", ".parquet")}


def test_three_formats_give_the_same_output_and_detect_nli(
    nli_formats: dict[str, Path], real_nli: Rows, tmp_path: Path, score: Score
):
    outputs = {}
    for suffix, path in nli_formats.items():
        summary = score([path], tmp_path / suffix, chunk_rows=5)
        assert (summary.task, summary.rows, summary.scored, summary.bad_rows) == ("nli", 12, 12, 0)
        assert summary.exit_code == 0
        outputs[suffix] = read_output(tmp_path / suffix)
    assert outputs[".jsonl"] == outputs[".csv"] == outputs[".parquet"]
    rows = outputs[".jsonl"]
    assert [r["id"] for r in rows] == [r["id"] for r in real_nli]
    for row in rows:
        assert set(row) == {"id", "label", "scores"}
        assert row["label"] == max(row["scores"], key=row["scores"].get)
        assert sum(row["scores"].values()) == pytest.approx(1.0, abs=1e-5)
    assert read_errors(tmp_path / ".jsonl") == []


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_qa_is_detected_and_answers_are_spans_of_their_context(
    real_qa: Rows, tmp_path: Path, score: Score, suffix: str
):
    rows = [*real_qa[:4], {**real_qa[5], "top_k": 3}, {**real_qa[6], "allow_no_answer": False}]
    path = write_rows(tmp_path / f"qa{suffix}", rows)
    summary = score([path], tmp_path / "out", chunk_rows=4, output_format="jsonl")
    assert (summary.task, summary.scored) == ("qa", len(rows))
    results = read_output(tmp_path / "out")
    for row, result in zip(rows, results):
        assert result["id"] == row["id"]
        assert row["context"][result["start"] : result["end"]] == result["answer"]
    assert (
        len(results[4]["answers"]) == 3
        and results[4]["answers"][0]["answer"] == results[4]["answer"]
    )
    assert results[5]["answer"] != ""  # allow_no_answer: false always gets a span
    assert all("answers" not in r for i, r in enumerate(results) if i != 4)


def test_jsonl_and_parquet_outputs_hold_the_same_rows(
    nli_formats: dict[str, Path], tmp_path: Path, score: Score
):
    score([nli_formats[".jsonl"]], tmp_path / "p", chunk_rows=5, output_format="parquet")
    score([nli_formats[".jsonl"]], tmp_path / "j", chunk_rows=5, output_format="jsonl")
    assert sorted(p.name for p in (tmp_path / "p").glob("part-*")) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert read_output(tmp_path / "p") == read_output(tmp_path / "j")


def test_bad_rows_go_to_the_errors_file_and_the_job_goes_on(
    real_nli: Rows, tmp_path: Path, score: Score
):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(bad_nli_lines(real_nli)) + "\n")
    summary = score([path], tmp_path / "out", chunk_rows=4)
    assert (summary.rows, summary.scored, summary.bad_rows) == (19, 12, 7)
    assert summary.exit_code == EXIT_BAD_ROWS
    assert [r["id"] for r in read_output(tmp_path / "out")] == [r["id"] for r in real_nli]
    errors = read_errors(tmp_path / "out")
    assert [(e["id"], e["row"]) for e in errors] == [
        ("missing", 3),
        ("wrong-type", 4),
        ("too-many-chars", 5),
        ("too-many-windows", 6),
        (None, 7),
        (7, 8),
        (None, 9),
    ]
    reasons = [e["reason"] for e in errors]
    assert reasons[0] == "hypothesis: Field required"
    assert reasons[1] == "premise: Input should be a valid string"
    assert reasons[2] == "premise is too long: 20001 characters, the limit is 20000 characters"
    assert reasons[3].startswith("premise+hypothesis is too long:")
    assert reasons[3].endswith("windows, the limit is 64 windows")
    assert reasons[4] == "id: missing"
    assert reasons[5] == "id: expected a string like the other ids"
    assert reasons[6].startswith("invalid JSON")


def test_the_cli_exits_3_on_bad_rows_and_prints_a_summary(real_nli: Rows, tmp_path: Path):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(bad_nli_lines(real_nli[:2])) + "\n")
    result = CliRunner().invoke(
        app, ["score", "-i", str(path), "-o", str(tmp_path / "out"), "--no-progress"]
    )
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert (summary["scored"], summary["bad_rows"], summary["exit_code"]) == (2, 7, 3)
    assert "bad" in result.stderr


def test_without_an_id_column_rows_are_numbered(real_nli: Rows, tmp_path: Path, score: Score):
    rows = [{k: v for k, v in r.items() if k != "id"} for r in real_nli[:4]]
    path = write_rows(tmp_path / "a.parquet", [*rows[:2], {"premise": "p"}, *rows[2:]])
    summary = score([path], tmp_path / "out", chunk_rows=2)
    assert [r["id"] for r in read_output(tmp_path / "out")] == [0, 1, 3, 4]
    assert read_errors(tmp_path / "out") == [
        {"id": 2, "row": 2, "reason": "hypothesis: Field required"}
    ]
    assert summary.bad_rows == 1


def test_a_different_job_is_refused_in_the_same_output(
    nli_formats: dict[str, Path], real_nli: Rows, tmp_path: Path, score: Score
):
    path = nli_formats[".jsonl"]
    out = tmp_path / "out"
    first = score([path], out, chunk_rows=5)
    again = score([path], out, chunk_rows=5)
    assert (again.resumed_rows, again.scored) == (first.rows, first.scored)
    with pytest.raises(JobError, match="chunk_rows"):
        score([path], out, chunk_rows=6)
    with pytest.raises(JobError, match="max_batch_size"):
        score([path], out, chunk_rows=5, batch=BatchSettings(max_batch_size=4))
    with pytest.raises(JobError, match="output_format"):
        score([path], out, chunk_rows=5, output_format="jsonl")
    changed = write_rows(tmp_path / "nli.jsonl", real_nli[:3])
    score([changed], tmp_path / "other", chunk_rows=5)
    changed.write_text(changed.read_text() + changed.read_text())
    with pytest.raises(JobError, match="inputs"):
        score([changed], tmp_path / "other", chunk_rows=5)
    redone = score([path], out, chunk_rows=6, overwrite=True)
    assert (redone.resumed_rows, redone.scored) == (0, first.scored)
    assert len(list(out.glob("part-*"))) == 2  # the 5-row shards are gone


def test_an_unrelated_directory_is_never_written_into(
    nli_formats: dict[str, Path], tmp_path: Path, score: Score
):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(JobError, match="did not write"):
            score([nli_formats[".jsonl"]], tmp_path / "out", overwrite=overwrite)
    assert (tmp_path / "out" / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_a_min_score_column_abstains_row_by_row(
    real_nli: Rows, real_qa: Rows, tmp_path: Path, score: Score, suffix: str
):
    # 1 is above any softmax here, 0 below every one; rows without a value never abstain.
    floors = [1.0, 0.0, None, 1.0]
    rows = [{**r, "min_score": m} for r, m in zip(real_nli, floors)]
    summary = score([write_rows(tmp_path / f"nli{suffix}", rows)], tmp_path / "nli")
    assert (summary.scored, summary.bad_rows) == (4, 0)
    results = read_output(tmp_path / "nli")
    assert [r.get("label") is None for r in results] == [True, False, False, True]
    assert [r.get("abstained") for r in results] == [True, None, None, True]
    assert all(sum(r["scores"].values()) == pytest.approx(1.0, abs=1e-5) for r in results)
    questions = [{**real_qa[0], "min_score": 1.0, "allow_no_answer": False}, real_qa[1]]
    score([write_rows(tmp_path / f"qa{suffix}", questions)], tmp_path / "qa")
    gone, kept = read_output(tmp_path / "qa")
    assert (gone["answer"], gone["abstained"]) == ("", True) and 0 < gone["score"] < 1
    assert "abstained" not in kept
    bad = [{**real_nli[0], "min_score": 1.5}]
    assert score([write_rows(tmp_path / f"bad{suffix}", bad)], tmp_path / "bad").bad_rows == 1
