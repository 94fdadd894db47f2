"""Real rows from ../shared/data written as JSON lines, CSV and Parquet, and a job runner."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from road.core.data import read_nli, read_squad
from road.runtime.settings import BatchSettings, default_bundle
from road.score.config import JobConfig
from road.score.job import Summary, run_job

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
QA_DEV = DATA / "qa" / "squadshifts-dev.json.gz"
NLI_DEV = DATA / "nli" / "vitaminc-dev.jsonl.gz"

Rows = list[dict[str, Any]]


@pytest.fixture(scope="session")
def real_qa() -> Rows:
    """QA rows from SQuADShifts dev: short contexts and ones long enough for several windows."""
    if not QA_DEV.exists():
        pytest.skip("needs ../shared/data")
    examples = read_squad(QA_DEV)
    short = [e for e in examples if len(e.context) < 800][:5]
    long = [e for e in examples if len(e.context) > 2500][:3]
    return [{"id": e.id, "question": e.question, "context": e.context} for e in short + long]


@pytest.fixture(scope="session")
def real_nli() -> Rows:
    """NLI rows from VitaminC dev that fit the bundle's 128 tokens (longer ones are bad rows)."""
    if not NLI_DEV.exists():
        pytest.skip("needs ../shared/data")
    pairs = [e for e in read_nli(NLI_DEV) if len(e.premise) + len(e.hypothesis) < 350][:12]
    return [{"id": e.id, "premise": e.premise, "hypothesis": e.hypothesis} for e in pairs]


def write_rows(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Rows as the file format the suffix names (.jsonl, .csv or .parquet)."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return path
    # Columns are the union of the rows' keys; a row without one gets a null there.
    names = list(dict.fromkeys(key for row in rows for key in row))
    table = pa.Table.from_pylist([{name: row.get(name) for name in names} for row in rows])
    if path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


def job_config(inputs: Sequence[Path | str], output: Path, **overrides: Any) -> JobConfig:
    """A job on the shipped bundle, without a progress bar; batch knobs as the server's."""
    config = JobConfig(
        bundle=default_bundle(),
        inputs=tuple(str(p) for p in inputs),
        output=output,
        progress=False,
        batch=BatchSettings(),
    )
    return dataclasses.replace(config, **overrides)


@pytest.fixture
def score() -> Callable[..., Summary]:
    """Run a job in this process: score(inputs, output, **JobConfig overrides)."""

    def run(inputs: Sequence[Path | str], output: Path, **overrides: Any) -> Summary:
        return run_job(job_config(inputs, output, **overrides))

    return run
