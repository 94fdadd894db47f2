from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.ideal_ort import encode, ideal_batches, parse_limits
from bench.workload import Request, build_workload, load_pools
from road.core.rows import Row
from road.runtime.settings import default_bundle


def _rows(lengths: list[int]) -> list[Row]:
    return [Row(np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64)) for n in lengths]


def test_batches_are_longest_first_and_within_both_limits() -> None:
    lengths = [5, 100, 7, 64, 64, 3, 90, 12, 12, 12]
    batches = ideal_batches(_rows(lengths), max_batch_size=3, max_batch_tokens=200)
    assert sorted(len(r) for b in batches for r in b) == sorted(lengths)
    for batch in batches:
        assert len(batch) <= 3
        assert max(len(r) for r in batch) * len(batch) <= 200
    flat = [len(r) for b in batches for r in b]
    assert flat == sorted(lengths, reverse=True)
    assert [len(b) for b in batches] == [2, 3, 3, 2]  # 100+90 (200 tokens), 64+64+12, ...


def test_a_row_longer_than_the_token_budget_still_gets_a_batch() -> None:
    assert [len(b) for b in ideal_batches(_rows([300, 10]), 8, 256)] == [1, 1]


@pytest.mark.integration
def test_rows_are_every_qa_window_and_every_nli_pair(data_dir: Path) -> None:
    requests = build_workload(load_pools(data_dir), "mixed", 10, seed=0)
    question = next(r for r in requests if r.task == "qa").payload["question"]
    long_one = Request("qa", {"question": question, "context": "The committee met. " * 300})
    rows = encode(default_bundle(), [long_one, *requests])
    n_qa = sum(r.task == "qa" for r in requests)
    assert len(rows) > 1 + n_qa + (len(requests) - n_qa)  # the long context has several windows
    assert max(len(r) for r in rows) == 256


def test_limits_parse_as_rows_by_tokens() -> None:
    assert parse_limits("32x8192,1x512") == [(32, 8192), (1, 512)]
