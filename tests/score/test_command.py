"""`road score` reads the environment only when `--env-prefix` names a prefix; flags win."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from road.cli import app
from road.runtime.settings import ModelSettings
from road.score.config import JobConfig
from road.score.settings import job_settings

from .conftest import Rows, write_rows

# A server's environment: it would make every premise of the test rows too long.
SERVER_ENV = {"ROAD_MAX_NLI_CHARS": "10", "ROAD_MAX_BATCH_SIZE": "1"}


def run(args: list[str], env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(app, ["score", "--no-progress", *args], env=env)
    summary = json.loads(result.stdout) if result.exit_code in (0, 3) else {}
    return result.exit_code, summary, result.output


def test_job_settings_ignore_the_environment_unless_asked(monkeypatch: pytest.MonkeyPatch):
    for name, value in {**SERVER_ENV, "ROAD_PAD_BUCKETS": "not a list"}.items():
        monkeypatch.setenv(name, value)
    defaults = job_settings({})
    assert (defaults.max_nli_chars, defaults.max_batch_size, defaults.pad_buckets) == (
        20000,
        32,
        [],
    )
    assert job_settings({"max_batch_size": 4}).batch.max_batch_size == 4
    config = JobConfig(bundle=Path("b"), inputs=("x",), output=Path("o"))
    assert (config.limits.max_nli_chars, config.batch.max_batch_size) == (20000, 32)
    monkeypatch.delenv("ROAD_PAD_BUCKETS")
    server = job_settings({"max_batch_size": 4}, env_prefix="ROAD_")
    assert (server.max_nli_chars, server.max_batch_size) == (10, 4)
    assert isinstance(server, ModelSettings)
    monkeypatch.setenv("JOB_MAX_NLI_CHARS", "99")
    assert job_settings({}, env_prefix="JOB_").max_nli_chars == 99


@pytest.mark.integration
def test_the_server_environment_applies_only_with_env_prefix(real_nli: Rows, tmp_path: Path):
    path = write_rows(tmp_path / "nli.jsonl", real_nli[:3])
    base = ["-i", str(path)]
    code, summary, output = run([*base, "-o", str(tmp_path / "plain")], SERVER_ENV)
    assert (code, summary["scored"], summary["bad_rows"]) == (0, 3, 0), output
    prefixed = [*base, "-o", str(tmp_path / "env"), "--env-prefix", "ROAD_"]
    code, summary, output = run(prefixed, SERVER_ENV)
    assert (code, summary["scored"], summary["bad_rows"]) == (3, 0, 3), output
    # A flag overrides the variable it names.
    flagged = [*base, "-o", str(tmp_path / "flag"), "--env-prefix", "ROAD_"]
    code, summary, output = run([*flagged, "--max-nli-chars", "4000"], SERVER_ENV)
    assert (code, summary["scored"]) == (0, 3), output


@pytest.mark.integration
def test_a_bad_setting_is_a_usage_error_only_where_it_is_read(real_nli: Rows, tmp_path: Path):
    path = write_rows(tmp_path / "nli.jsonl", real_nli[:1])
    env = {"ROAD_PAD_BUCKETS": "[128, 64]"}
    code, _, output = run(["-i", str(path), "-o", str(tmp_path / "a")], env)
    assert code == 0, output
    code, _, output = run(
        ["-i", str(path), "-o", str(tmp_path / "b"), "--env-prefix", "ROAD_"], env
    )
    assert code == 2 and "pad_buckets must be positive and ascending" in output, output
    code, _, output = run(
        ["-i", str(path), "-o", str(tmp_path / "c"), "--pad-buckets", "128", "--pad-buckets", "64"],
        {},
    )
    assert code == 2 and "ascending" in output, output
