from __future__ import annotations

from pathlib import Path

import pytest

from bench import ceiling, harness
from bench.workload import build_workload, load_pools, save_workload
from road.runtime.settings import default_bundle


@pytest.mark.integration
def test_ceiling_and_floor_replay_the_first_requests_on_the_raw_session(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same path both modules read, pointed at a workload of the handmade data.
    for module in (ceiling, harness):
        monkeypatch.setattr(module, "WORKLOADS", tmp_path)
    requests = build_workload(load_pools(data_dir, default_bundle()), "mixed", 12, seed=0)
    save_workload(requests, tmp_path / "workload-mixed.jsonl")
    setup = harness.Setup(out=tmp_path, server_cpus={0})

    raw = ceiling.ideal(setup, default_bundle(), 7, passes=1)
    assert [c["max_batch_size"] for c in raw["all"]] == [32, 1]  # the server's limits, then 1 row
    assert raw["server_limits"] == raw["all"][0]
    assert {c["requests"] for c in raw["all"]} == {7}
    assert raw["best"]["requests_per_cpu_s"] == max(c["requests_per_cpu_s"] for c in raw["all"])
    assert "--count 7" in raw["command"]

    solo = ceiling.floor(setup, default_bundle(), 9)
    assert solo["requests"] == 9
    tasks = {r.task for r in requests[:9]}
    assert set(solo["by_task"]) == tasks
    assert 0 < solo["latency_ms"]["p50"] <= solo["latency_ms"]["max"]


@pytest.mark.integration
def test_overhead_loads_the_null_model_server_closed_and_at_roads_rate(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness, "WORKLOADS", tmp_path)
    monkeypatch.setattr(harness, "DATA_DIR", data_dir)
    setup = harness.Setup(out=tmp_path, server_cpus={0}, duration_s=1.0, warmup_s=0.0, count=20)

    result = ceiling.run_overhead(setup, default_bundle(), level=2, road_rate=10.0)

    assert "bench.null_model" in result["command"]
    closed, at_rate = result["point"], result["at_road_rate"]
    assert (closed["mode"], closed["level"]) == ("closed", 2)
    assert (at_rate["mode"], at_rate["level"]) == ("open", 10.0)
    for point in (closed, at_rate):
        assert point["requests"] > 0 and not point["errors"]
        assert 0 < point["cpu_cores_used"]["server"] <= 1.05
    assert ceiling.run_overhead(setup, default_bundle(), level=1)["at_road_rate"] is None
