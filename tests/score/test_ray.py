"""`--engine ray` on a local Ray instance writes what the local engine writes.

Both engines run one row per ONNX Runtime run here: Ray cuts its blocks its own way, so with
bigger batches a row's int8 scores could move with its batch mates (docs/score.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from road.runtime.settings import BatchSettings
from road.score.config import JobError
from road.score.shards import read_errors, read_output

from .conftest import Rows, write_rows
from .test_job import Score, bad_nli_lines

ray = pytest.importorskip("ray")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    # Ray's own imports warn about its dependencies; they are not ours.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]
ONE_ROW = BatchSettings(max_batch_size=1)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=1, include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


def errors_without_rows(out: Path) -> list[tuple[object, str]]:
    return [(e["id"], e["reason"]) for e in read_errors(out)]


@pytest.mark.usefixtures("local_ray")
def test_ray_and_local_write_the_same_nli_results_and_bad_rows(
    real_nli: Rows, tmp_path: Path, score: Score
):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(bad_nli_lines(real_nli[:6])) + "\n")
    on_ray = score([path], tmp_path / "ray", engine="ray", chunk_rows=4, batch=ONE_ROW)
    local = score([path], tmp_path / "local", chunk_rows=4, batch=ONE_ROW)
    assert (on_ray.scored, on_ray.bad_rows) == (local.scored, local.bad_rows) == (6, 7)
    assert on_ray.exit_code == local.exit_code == 3
    assert read_output(tmp_path / "ray") == read_output(tmp_path / "local")
    assert errors_without_rows(tmp_path / "ray") == errors_without_rows(tmp_path / "local")
    again = score([path], tmp_path / "ray", engine="ray", chunk_rows=4, batch=ONE_ROW)
    assert again.scored == 6  # a finished Ray job is not run again


@pytest.mark.usefixtures("local_ray")
def test_ray_and_local_write_the_same_qa_parquet(real_qa: Rows, tmp_path: Path, score: Score):
    path = write_rows(tmp_path / "qa.parquet", real_qa[:4])
    score([path], tmp_path / "ray", engine="ray", chunk_rows=2, batch=ONE_ROW)
    score([path], tmp_path / "local", chunk_rows=2, batch=ONE_ROW)
    assert read_output(tmp_path / "ray") == read_output(tmp_path / "local")
    assert [r["id"] for r in read_output(tmp_path / "ray")] == [r["id"] for r in real_qa[:4]]


def test_ray_needs_an_id_column(real_nli: Rows, tmp_path: Path, score: Score):
    rows = [{"premise": r["premise"], "hypothesis": r["hypothesis"]} for r in real_nli[:2]]
    path = write_rows(tmp_path / "no-id.csv", rows)
    with pytest.raises(JobError, match="id column"):
        score([path], tmp_path / "out", engine="ray")


@pytest.mark.usefixtures("local_ray")
def test_ray_reads_gzipped_csv_like_local(real_nli: Rows, tmp_path: Path, score: Score):
    import gzip

    plain = write_rows(tmp_path / "nli.csv", real_nli[:4])
    packed = tmp_path / "nli.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    score([packed], tmp_path / "ray", engine="ray", batch=ONE_ROW, output_format="jsonl")
    score([packed], tmp_path / "local", batch=ONE_ROW, output_format="jsonl")
    assert read_output(tmp_path / "ray") == read_output(tmp_path / "local")
    assert len(read_output(tmp_path / "ray")) == 4
