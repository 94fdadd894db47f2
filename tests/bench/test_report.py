from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.report import (
    floor_table,
    paired_table,
    plots,
    precision_table,
    ratios,
    sweep_table,
)


def _point(level: float, rps: float, p50: float, p99: float, mode: str = "closed") -> dict:
    return {
        "mode": mode,
        "level": level,
        "requests": int(rps * 10),
        "throughput_rps": rps,
        "errors": {},
        "latency_ms": {"p50": p50, "p95": p99, "p99": p99},
        "cpu_cores_used": {"client": 0.2, "server": 1.0},
        "server_batches": {"road_batch_rows": {"mean": 6.0}, "padding_efficiency": 0.8},
    }


def _bundle(out: Path) -> Path:
    bundle = out / "int8"
    bundle.mkdir(exist_ok=True)
    quality = {"onnx": {"qa": {"f1": 61.5}, "nli": {"accuracy": 66.25}}}
    (bundle / "manifest.json").write_text(json.dumps({"quality": quality}))
    return bundle


def _write(out: Path) -> None:
    road_points = [_point(1, 50, 20, 30), _point(64, 200, 300, 400)]
    road = {
        "label": "road int8",
        "bundle": str(_bundle(out)),
        "memory": {"rss_mib": 250.0},
        "points": road_points,
        "saturation": road_points[1],
        "by_mix": {},
        "open_70": _point(140, 140, 40, 100, mode="open"),
        "open_70_fixed": _point(140, 140, 40, 80, mode="open")
        | {
            "by_task": {
                "qa": {"latency_ms": {"p50": 60.0, "p99": 90.0}},
                "nli": {"latency_ms": {"p50": 20.0, "p99": 70.0}},
            }
        },
        "floor": {
            "latency_ms": {"p50": 25.0, "p95": 130.0, "p99": 225.0},
            "by_task": {
                "qa": {"p50": 50.0, "p95": 190.0, "p99": 275.0},
                "nli": {"p50": 14.0, "p95": 27.0, "p99": 35.0},
            },
        },
        "ideal": {
            "server_limits": {"throughput_rps": 250, "requests_per_cpu_s": 400},
            "best": {"throughput_rps": 400, "requests_per_cpu_s": 800},
        },
    }
    naive = {"label": "naive", "points": [_point(1, 10, 100, 150), _point(4, 20, 200, 300)]}
    graphs = {
        mode: {"point": _point(64, rps, 1, 1), "memory": {"rss_mib": rss}}
        for mode, rps, rss in (("shared", 200, 250), ("split", 160, 300))
    }
    fp32 = {
        "label": "fp32",
        "bundle": "/nonexistent",
        "memory": {"rss_mib": 400.0},
        "points": [_point(1, 25, 40, 50), _point(64, 100, 600, 700)],
    }
    precision = {"variants": [fp32]}
    paired = {
        "level": 64,
        "rounds": [
            {"road": _point(64, rps, 1, 1), "raw": {"throughput_rps": raw}}
            for rps, raw in ((27.0, 30.0), (30.0, 30.0), (20.0, 40.0))
        ],
    }
    # Road with the model removed: 4,000 requests per CPU-second against road's 200, and 8% of
    # the core at road's own rate.
    at_rate = _point(200, 200, 1, 1, mode="open")
    at_rate["cpu_cores_used"]["server"] = 0.08
    overhead = {"level": 64, "point": _point(64, 4000, 1, 1), "at_road_rate": at_rate}
    results = {
        "road": road, "naive": naive, "graphs": graphs, "precision": precision, "paired": paired,
        "overhead": overhead,
    }  # fmt: skip
    for name, result in results.items():
        (out / f"{name}.json").write_text(json.dumps(result))


def test_ratios_of_each_comparison(tmp_path: Path) -> None:
    _write(tmp_path)
    # Every server used 1 core in the fixtures, so per-CPU-second ratios equal throughput ones.
    assert ratios(tmp_path) == pytest.approx(
        {
            "a_road_over_ideal_server_limits_throughput": 0.8,
            "a_road_over_ideal_server_limits_per_cpu_s": 0.5,
            "a_road_over_ideal_best_throughput": 0.5,
            "a_road_over_ideal_best_per_cpu_s": 0.25,
            "a_paired_median_road_over_raw": 0.9,
            "a_overhead_ms_per_request": 0.25,
            "a_overhead_share_of_road": 0.05,
            "a_overhead_core_share_at_road_rate": 0.08,
            "b_road_over_naive_throughput": 10.0,
            "b_road_over_naive_per_cpu_s": 10.0,
            "b_p50_c1_naive_over_road": 5.0,
            "c_shared_over_split_throughput": 1.25,
            "c_shared_over_split_per_cpu_s": 1.25,
            "c_rss_split_over_shared": 1.2,
            "d_road_int8_over_fp32_throughput": 2.0,
            "d_road_int8_over_fp32_per_cpu_s": 2.0,
            "e_p99_over_p50_at_70pct": 2.5,
            "e_p99_over_p50_at_70pct_fixed_arrivals": 2.0,
            "e_p99_over_p50_at_70pct_fixed_arrivals_qa": 1.5,
            "e_p99_over_p50_at_70pct_fixed_arrivals_nli": 3.5,
            "e_floor_solo_p99_over_p50": 9.0,
            "e_floor_solo_p99_over_p50_qa": 5.5,
            "e_floor_solo_p99_over_p50_nli": 2.5,
        }
    )


def test_missing_results_give_no_ratios(tmp_path: Path) -> None:
    assert ratios(tmp_path) == {}


def test_plot_and_table(tmp_path: Path) -> None:
    _write(tmp_path)
    plots(tmp_path)
    assert (tmp_path / "latency-throughput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = sweep_table(json.loads((tmp_path / "road.json").read_text())["points"]).splitlines()
    assert len(lines) == 4 and lines[2].startswith("| closed 1 | 50.0 | 50.0 | 20.0 |")


def test_paired_table_has_a_row_per_round_with_its_ratio(tmp_path: Path) -> None:
    _write(tmp_path)
    lines = paired_table(json.loads((tmp_path / "paired.json").read_text())).splitlines()
    assert lines[2:] == [
        "| 1 | 270 | 27.0 | 30.0 | 0.90 |",
        "| 2 | 300 | 30.0 | 30.0 | 1.00 |",
        "| 3 | 200 | 20.0 | 40.0 | 0.50 |",
    ]


def test_floor_table_has_a_row_per_task_with_its_tail_ratio(tmp_path: Path) -> None:
    _write(tmp_path)
    lines = floor_table(json.loads((tmp_path / "road.json").read_text())["floor"]).splitlines()
    assert lines[2:] == [
        "| all | 25.0 | 130.0 | 225.0 | 9.0 |",
        "| qa | 50.0 | 190.0 | 275.0 | 5.5 |",
        "| nli | 14.0 | 27.0 | 35.0 | 2.5 |",
    ]


def test_precision_table_lists_road_and_each_variant_with_its_quality(tmp_path: Path) -> None:
    _write(tmp_path)
    lines = precision_table(tmp_path).splitlines()
    assert lines[2].startswith("| road int8 | 20.0 | 200.0 | 200.0 | 250 | 61.50 / 66.25 |")
    assert lines[3] == "| fp32 | 40.0 | 100.0 | 100.0 | 400 | – |"
