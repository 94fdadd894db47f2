"""Kill `road score` anywhere, rerun the same command: the output equals an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import road.score.local as local
from road.score.job import Summary, run_job
from road.score.resume import MANIFEST, JobLog
from road.score.shards import read_errors, read_output

from .conftest import Rows, job_config
from .test_job import bad_nli_lines

pytestmark = pytest.mark.integration

Score = Callable[..., Summary]
CHUNK = 2


class Crash(BaseException):
    """Stands in for a kill: nothing after it runs, no cleanup beyond the kernel's."""


@pytest.fixture(scope="module")
def mixed_input(real_nli: Rows, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three copies of good and bad rows (ids made unique): 57 rows, 29 chunks of 2."""
    lines = []
    for copy in range(3):
        rows = [{**row, "id": f"{row['id']}-{copy}"} for row in real_nli]
        lines += bad_nli_lines(rows)
    path = tmp_path_factory.mktemp("resume") / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def clean_run(mixed_input: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "out"
    run_job(job_config([mixed_input], out, chunk_rows=CHUNK))
    return out


def same_output(out: Path, clean: Path) -> None:
    assert read_output(out) == read_output(clean)
    assert read_errors(out) == read_errors(clean)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in clean.iterdir())
    done = json.loads((out / MANIFEST).read_text())
    assert (
        done["complete"] and done["chunks"] == json.loads((clean / MANIFEST).read_text())["chunks"]
    )


def crash_on(monkeypatch: pytest.MonkeyPatch, target: Any, name: str, call: int) -> None:
    """Let `target.name` run `call - 1` times, then crash right after its next call."""
    real = getattr(target, name)
    calls = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == call:
            raise Crash(name)
        return result

    monkeypatch.setattr(target, name, wrapper)


@pytest.mark.parametrize(
    ("target", "name"),
    [
        (local, "write_results"),  # shard in place, its bad rows not yet
        (local, "write_bad_rows"),  # both in place, the manifest not told
        (JobLog, "record"),  # the manifest names the chunk
        (local, "merge_errors"),  # every chunk done, the job not marked complete
    ],
)
def test_a_crash_at_each_step_resumes_to_the_clean_output(
    target: Any,
    name: str,
    mixed_input: Path,
    clean_run: Path,
    tmp_path: Path,
    score: Score,
    monkeypatch: pytest.MonkeyPatch,
):
    with monkeypatch.context() as patch:
        crash_on(patch, target, name, call=1 if name == "merge_errors" else 5)
        with pytest.raises(Crash):
            score([mixed_input], tmp_path / "out", chunk_rows=CHUNK)
    summary = score([mixed_input], tmp_path / "out", chunk_rows=CHUNK)
    assert 0 < summary.resumed_rows < summary.rows or name == "merge_errors"
    same_output(tmp_path / "out", clean_run)


def start(mixed_input: Path, out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "road", "score", "-i", str(mixed_input), "-o", str(out)]
    command += ["--chunk-rows", str(CHUNK), "--no-progress"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def chunks_done(out: Path) -> int:
    try:
        return len(json.loads((out / MANIFEST).read_text())["chunks"])
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def kill_after(process: subprocess.Popen[bytes], out: Path, chunks: int) -> int:
    """SIGKILL the job once its manifest names at least `chunks` chunks; return how many."""
    deadline = time.monotonic() + 300
    while chunks_done(out) < chunks:
        assert process.poll() is None, "the job ended before it could be killed"
        assert time.monotonic() < deadline, "the job made no progress"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return chunks_done(out)


def test_sigkill_mid_run_then_rerun_equals_a_clean_run(
    mixed_input: Path, clean_run: Path, tmp_path: Path
):
    out = tmp_path / "out"
    first = kill_after(start(mixed_input, out), out, 2)
    second = kill_after(start(mixed_input, out), out, first + 3)
    total = len(json.loads((clean_run / MANIFEST).read_text())["chunks"])
    assert 2 <= first < second < total
    assert not json.loads((out / MANIFEST).read_text())["complete"]
    final = start(mixed_input, out)
    assert final.wait(timeout=600) == 3  # done, with bad rows
    same_output(out, clean_run)
    assert not list(out.glob("**/.*.tmp"))
