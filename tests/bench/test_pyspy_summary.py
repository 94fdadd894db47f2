from __future__ import annotations

import pytest

from bench.pyspy_summary import OTHER, summarize

WORKER = "Thread.run (threading.py:982);_worker (concurrent/futures/thread.py:83)"


def test_each_sample_counts_once_for_its_first_matching_category() -> None:
    lines = [
        f"thread (1): road-cpu_0;{WORKER};QAEncoder.encode (core/qa.py:78) 6",
        f"thread (1): road-cpu_0;{WORKER} 2",
        "thread (2): MainThread;Runner.run (asyncio/runners.py:118) 8",
        "thread (2): MainThread;RequestResponseCycle.run_asgi (uvicorn/x.py:1);"
        "Engine._decode_all (service/engine.py:125) 4",
    ]
    assert summarize(lines) == pytest.approx(
        {
            "tokenization": 0.3,
            OTHER: 0.4,
            "worker threads, waking and waiting": 0.1,
            "span decoding and responses": 0.2,
        }
    )


def test_an_empty_profile_has_no_shares() -> None:
    assert summarize([]) == {}
