"""Acceptance: `road score` scores every row of the VitaminC dev file with the default bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from road.cli import app
from road.core.data import open_text
from road.score.shards import read_errors, read_output

from .conftest import NLI_DEV

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_vitaminc_dev_row_is_scored(tmp_path: Path):
    if not NLI_DEV.exists():
        pytest.skip("needs ../shared/data")
    with open_text(NLI_DEV) as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["score", "-i", str(NLI_DEV), "-o", str(out), "--no-progress", "--threads", "1"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["scored"], summary["bad_rows"]) == (len(rows), len(rows), 0)
    assert read_errors(out) == []  # written, and empty
    scored = read_output(out)
    assert [r["id"] for r in scored] == [r["id"] for r in rows]
    # The pairs over the bundle's 128 tokens were windowed, not refused.
    assert sum("evidence" in r for r in scored) > 10
