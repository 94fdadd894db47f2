from __future__ import annotations

from typing import Any

from bench.versus_teachers import table


def side(rps: float, p50: float) -> dict[str, Any]:
    return {
        "saturation": {"throughput_rps": rps, "level": 64},
        "low_load": {"latency_ms": {"p50": p50}},
        "memory": {"peak_rss_mib": 500.0},
    }


def dev(f1: float, nli: float, failed: int = 0) -> dict[str, Any]:
    recall = {"entailment": 90.0, "neutral": 50.0, "contradiction": 60.0}
    return {
        "qa": {"HasAns_f1": f1, "HasAns_exact": f1 - 10, "NoAns_exact": 91.0, "failed": failed},
        "nli": {"accuracy": nli, "per_class_recall": recall, "failed": 0},
    }


def test_table_puts_speed_and_dev_quality_side_by_side() -> None:
    text = table(
        {"road": side(30.0, 25.0), "naive_teachers": side(10.0, 50.0)},
        {"road": dev(74.6, 72.2), "naive_teachers": dev(77.5, 73.3, 2)},
    )
    lines = text.splitlines()
    assert lines[2].startswith(
        "| road default bundle | 30.0 (c=64) | 25.0 | 74.6 / 64.6 | 91.0 | 72.2 | 90 / 50 / 60 |"
    )
    assert lines[3].startswith("| pipelines, 6-layer teachers | 10.0 (c=64) | 50.0 | 77.5 / 67.5 |")
    assert "| 2 | 500 |" in lines[3]
    assert text.endswith("throughput ×3.00, p50 at c=1 ÷2.00 (road against pipelines)")
