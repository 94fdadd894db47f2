"""Acceptance: the real `road score` process scores every row of the VitaminC dev file with the
default bundle (exit 0, no bad rows), and every answer is the one the real server's /nli gives.

The server is asked through `/nli/batch` (64 items a request, its default limit) to keep the run
short. Batches are packed differently on the two sides (the job's chunks hold 1,024 rows), so
scores are compared within `SCORE_TOLERANCE`; labels, evidence and truncation exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from road.core.data import open_text
from road.score.shards import read_errors, read_output

from ..integration.server import REPO, running_server
from .conftest import NLI_DEV

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCORE_TOLERANCE = 1e-4
BATCH_ITEMS = 64


def served_answers(url: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    with httpx.Client(timeout=300) as client:
        for start in range(0, len(rows), BATCH_ITEMS):
            items = [
                {"premise": r["premise"], "hypothesis": r["hypothesis"]}
                for r in rows[start : start + BATCH_ITEMS]
            ]
            response = client.post(f"{url}/nli/batch", json={"items": items})
            assert response.status_code == 200, response.text
            answers += response.json()["results"]
    return answers


def test_every_vitaminc_dev_row_is_scored_as_nli_answers_it(tmp_path: Path) -> None:
    if not NLI_DEV.exists():
        pytest.skip("needs ../shared/data")
    with open_text(NLI_DEV) as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "road", "score", "-i", str(NLI_DEV), "-o", str(out)]
    job = subprocess.run(
        [*command, "--no-progress", "--threads", "1"],
        capture_output=True, text=True, cwd=REPO, timeout=3600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert job.returncode == 0, job.stderr[-2000:]
    summary = json.loads(job.stdout)
    assert (summary["rows"], summary["scored"], summary["bad_rows"]) == (len(rows), len(rows), 0)
    assert summary["exit_code"] == 0
    assert read_errors(out) == []  # written, and empty
    scored = read_output(out)
    assert [r["id"] for r in scored] == [r["id"] for r in rows]
    # The pairs over the bundle's 128 tokens were windowed, not refused.
    assert sum("evidence" in r for r in scored) > 10
    with running_server(None) as url:
        served = served_answers(url, rows)
    assert len(served) == len(scored)
    for row, mine, theirs in zip(rows, scored, served):
        where = row["id"]
        assert mine["label"] == theirs["label"], where
        assert mine.get("evidence") == theirs.get("evidence"), where
        assert mine.get("truncated") == theirs.get("truncated"), where
        assert mine["scores"] == pytest.approx(theirs["scores"], abs=SCORE_TOLERANCE), where
