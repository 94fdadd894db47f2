from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.solo import measure, request_inputs
from bench.workload import Request, build_workload, load_pools
from road.core.rows import Row
from road.runtime.settings import BatchSettings, default_bundle


def _rows(lengths: list[int]) -> list[Row]:
    return [Row(np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64)) for n in lengths]


def test_a_request_runs_its_rows_in_batches_within_the_server_limits() -> None:
    limits = BatchSettings(max_batch_size=32, max_batch_tokens=512)
    inputs = request_inputs(_rows([256, 256, 256, 256, 90]), limits)
    assert [x["input_ids"].shape for x in inputs] == [(2, 256), (2, 256), (1, 90)]
    assert sum(int(x["attention_mask"].sum()) for x in inputs) == 4 * 256 + 90


@pytest.mark.integration
def test_solo_times_cover_every_request_and_qa_contexts_of_many_windows_take_longer(
    data_dir: Path,
) -> None:
    requests = build_workload(load_pools(data_dir), "mixed", 6, seed=0)
    question = next(r for r in requests if r.task == "qa").payload["question"]
    long_one = Request("qa", {"question": question, "context": "The committee met. " * 400})
    result = measure(default_bundle(), [*requests, *[long_one] * 3], threads=1)
    assert result["requests"] == 9
    assert set(result["by_task"]) == {"qa", "nli"}
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    # The long context's several windows are the slowest requests of the set.
    assert result["by_task"]["qa"]["max"] == latency["max"]
    assert latency["max"] > 2 * result["by_task"]["nli"]["max"]
