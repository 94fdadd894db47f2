from __future__ import annotations

import math

import pytest

from bench.stats import Record, latency_summary, summarize


def test_percentiles_of_a_known_distribution() -> None:
    summary = latency_summary([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p95"] == pytest.approx(95.05)
    assert summary["p99"] == pytest.approx(99.01)
    assert summary["mean"] == pytest.approx(50.5)
    assert summary["max"] == pytest.approx(100.0)


def test_an_empty_run_has_no_latency() -> None:
    assert all(math.isnan(v) for v in latency_summary([]).values())


def test_latency_counts_from_the_intended_send_time() -> None:
    record = Record("qa", intended=10.0, done=10.25, status=200)
    assert record.latency == pytest.approx(0.25) and record.ok
    assert not Record("qa", 0.0, 1.0, 503).ok and not Record("qa", 0.0, 1.0, 0).ok


def test_summary_counts_only_successes_in_throughput_and_latency() -> None:
    records = [Record("qa", 0.0, 0.1, 200), Record("nli", 0.0, 0.2, 200)] * 5
    records += [Record("nli", 0.0, 9.0, 503), Record("qa", 0.0, 9.0, 0), Record("qa", 0.0, 9.0, 0)]
    summary = summarize(records, started=0.0, finished=2.0)
    assert summary["requests"] == 13 and summary["ok"] == 10
    assert summary["errors"] == {"0": 2, "503": 1}
    assert summary["throughput_rps"] == pytest.approx(5.0)
    assert summary["latency_ms"]["max"] == pytest.approx(200.0)
    assert summary["by_task"]["qa"]["ok"] == 5
    assert summary["by_task"]["nli"]["latency_ms"]["p50"] == pytest.approx(200.0)
