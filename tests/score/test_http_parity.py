"""The job's output equals what the real `road serve` returns for the same rows, bit for bit.

An int8 graph quantises activations per ONNX Runtime run, so a row's scores depend on which
rows share its run. The server, given one batch request on an idle queue, packs it exactly as
the job packs a chunk of the same rows; so a batch request per chunk is compared with the job.
With one row per run on both sides (max_batch_size 1) every single-row request matches too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from road.core.data import read_nli
from road.runtime.session import SessionOptions
from road.runtime.settings import BatchSettings
from road.score.job import run_job
from road.score.shards import read_errors, read_output

from ..integration.server import running_server
from .conftest import NLI_DEV, Rows, job_config, write_rows

pytestmark = pytest.mark.integration


def qa_rows(real_qa: Rows) -> Rows:
    options = [{}, {"top_k": 3}, {"allow_no_answer": False}, {"max_answer_len": 5}]
    return [{**row, **options[i % len(options)]} for i, row in enumerate(real_qa)]


def score_rows(rows: Rows, out: Path, **overrides: Any) -> list[dict[str, Any]]:
    """The job's results without the id, in input order (one thread, like the test server)."""
    path = write_rows(out.with_suffix(".jsonl"), rows)
    config = job_config([path], out, session=SessionOptions(intra_op_threads=1), **overrides)
    run_job(config)
    return [{k: v for k, v in r.items() if k != "id"} for r in read_output(out)]


def request(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "id"}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server(None) as url:
        yield url


@pytest.fixture(scope="module")
def one_row_server() -> Iterator[str]:
    with running_server(None, env={"ROAD_MAX_BATCH_SIZE": "1"}) as url:
        yield url


@pytest.mark.parametrize(("task", "chunk"), [("qa", 4), ("nli", 6)])
def test_a_chunk_scores_as_the_servers_batch_request_of_the_same_rows(
    task: str, chunk: int, server: str, real_qa: Rows, real_nli: Rows, tmp_path: Path
):
    rows = qa_rows(real_qa) if task == "qa" else real_nli
    job = score_rows(rows, tmp_path / "out", chunk_rows=chunk)
    served = []
    for start in range(0, len(rows), chunk):
        items = [request(row) for row in rows[start : start + chunk]]
        response = httpx.post(f"{server}/{task}/batch", json={"items": items}, timeout=120)
        assert response.status_code == 200, response.text
        served += response.json()["results"]
    assert job == served


@pytest.mark.parametrize("task", ["qa", "nli"])
def test_with_one_row_per_run_every_single_request_matches(
    task: str, one_row_server: str, real_qa: Rows, real_nli: Rows, tmp_path: Path
):
    rows = qa_rows(real_qa) if task == "qa" else real_nli
    job = score_rows(rows, tmp_path / "out", batch=BatchSettings(max_batch_size=1))
    served = [
        httpx.post(f"{one_row_server}/{task}", json=request(row), timeout=120).json()
        for row in rows
    ]
    assert job == served


def test_rows_the_job_calls_bad_are_refused_by_the_server(
    one_row_server: str, real_nli: Rows, tmp_path: Path
):
    bad = [
        {"id": "a", "premise": "x" * 20_001, "hypothesis": "h"},
        {"id": "b", "premise": "x " * 9_999, "hypothesis": "h"},
        {"id": "c", "premise": "p", "hypothesis": ""},
    ]
    config = job_config([write_rows(tmp_path / "in.jsonl", [*bad, real_nli[0]])], tmp_path / "o")
    assert run_job(dataclasses.replace(config, batch=BatchSettings(max_batch_size=1))).bad_rows == 3
    errors = read_errors(tmp_path / "o")
    for row, error in zip(bad, errors):
        response = httpx.post(f"{one_row_server}/nli", json=request(row), timeout=60)
        assert response.status_code == 422
        assert error["id"] == row["id"]
        assert response.json()["detail"].endswith(error["reason"].split(": ", 1)[-1])


@pytest.fixture(scope="module")
def long_nli() -> Rows:
    """VitaminC dev pairs over the bundle's 128 tokens (windowed), with short ones between."""
    if not NLI_DEV.exists():
        pytest.skip("needs ../shared/data")
    pairs = read_nli(NLI_DEV)
    long = sorted(pairs, key=lambda e: -len(e.premise) - len(e.hypothesis))[:8]
    rows = [e for pair in zip(long, pairs[:8]) for e in pair]
    return [{"id": e.id, "premise": e.premise, "hypothesis": e.hypothesis} for e in rows]


def test_long_rows_are_scored_as_the_server_answers_them(
    one_row_server: str, long_nli: Rows, tmp_path: Path
):
    job = score_rows(long_nli, tmp_path / "out", batch=BatchSettings(max_batch_size=1))
    served = [
        httpx.post(f"{one_row_server}/nli", json=request(row), timeout=120).json()
        for row in long_nli
    ]
    assert job == served
    windowed = [r for r in job if "evidence" in r]
    assert len(windowed) >= 8
    for row, result in zip(long_nli, job):
        if "evidence" in result:
            evidence = result["evidence"]
            assert row["premise"][evidence["start"] : evidence["end"]] == evidence["text"]
