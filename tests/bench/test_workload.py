from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bench.workload import (
    DATA_DIR,
    QA_FILE,
    Pools,
    Request,
    build_workload,
    load_pools,
    load_workload,
    save_workload,
)
from road.core.tokenizer import load_tokenizer
from road.runtime.settings import default_bundle


def test_pools_hold_every_dev_example_as_a_request(data_dir: Path) -> None:
    pools = load_pools(data_dir)
    assert len(pools.qa) == 5 and len(pools.nli) == 6
    first = pools.qa[0]
    assert first.path == "/qa" and set(first.payload) == {"question", "context"}
    assert json.loads(first.body) == first.payload
    assert {r.path for r in pools.nli} == {"/nli"}


@pytest.mark.parametrize(("mix", "qa_count"), [("mixed", 50), ("qa", 100), ("nli", 0)])
def test_mix_sets_the_exact_share_of_qa_requests(data_dir: Path, mix: str, qa_count: int) -> None:
    requests = build_workload(load_pools(data_dir), mix, 100, seed=1)
    assert len(requests) == 100
    assert Counter(r.task for r in requests)["qa"] == qa_count


def test_sampling_is_seeded_and_exhausts_the_pool_before_repeating(data_dir: Path) -> None:
    pools = load_pools(data_dir)
    once = build_workload(pools, "nli", 6, seed=3)
    assert len({r.payload["hypothesis"] for r in once}) == 6  # no repeat while the pool lasts
    assert build_workload(pools, "nli", 6, seed=3) == once
    twice = build_workload(pools, "nli", 12, seed=3)
    assert set(Counter(r.payload["hypothesis"] for r in twice).values()) == {2}
    orders = {
        tuple(r.payload["hypothesis"] for r in build_workload(pools, "nli", 6, s)) for s in range(5)
    }
    assert len(orders) > 1


def test_unknown_mix_and_empty_pool_are_refused(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown mix"):
        build_workload(load_pools(data_dir), "images", 10)
    with pytest.raises(ValueError, match="no requests"):
        build_workload(Pools(qa=[], nli=[]), "qa", 1)


def test_a_bundle_drops_nli_pairs_it_would_refuse(data_dir: Path) -> None:
    bundle = default_bundle()
    pools = load_pools(data_dir, bundle, nli_max_tokens=14)
    tokenizer = load_tokenizer(bundle)
    lengths = [
        len(tokenizer.encode(r.payload["premise"], r.payload["hypothesis"]).ids) for r in pools.nli
    ]
    assert pools.nli_rejected > 0 and len(pools.nli) + pools.nli_rejected == 6
    assert max(lengths) <= 14


def test_saved_workload_replays_the_same_requests(data_dir: Path, tmp_path: Path) -> None:
    requests = build_workload(load_pools(data_dir), "mixed", 20, seed=2)
    save_workload(requests, tmp_path / "w.jsonl")
    assert load_workload(tmp_path / "w.jsonl") == requests


@pytest.mark.skipif(not (DATA_DIR / QA_FILE).exists(), reason="needs ../shared/data")
def test_samples_of_the_real_data_keep_its_length_distribution() -> None:
    pools = load_pools(DATA_DIR, default_bundle())
    assert len(pools.qa) == 2341 and len(pools.nli) + pools.nli_rejected == 4722
    requests = build_workload(pools, "mixed", 2000, seed=0)
    sampled = [len(r.payload["context"]) for r in requests if r.task == "qa"]
    population = [len(r.payload["context"]) for r in pools.qa]
    for q in (25, 50, 75, 90):
        assert np.percentile(sampled, q) == pytest.approx(np.percentile(population, q), rel=0.1)


def test_request_equality_ignores_the_cached_body() -> None:
    assert Request("nli", {"premise": "a", "hypothesis": "b"}) == Request(
        "nli", {"premise": "a", "hypothesis": "b"}
    )
