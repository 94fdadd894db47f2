import os
from pathlib import Path

import onnxruntime as ort
import pytest

from road.runtime import session as runtime
from road.runtime.cpu import available_cpus, quota_from_cgroup
from road.service.settings import ServerSettings


def test_cgroup_v2_quota_in_cores(tmp_path: Path):
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")
    assert quota_from_cgroup(cpu_max, tmp_path / "none", tmp_path / "none") == 1.5
    cpu_max.write_text("max 100000\n")
    assert quota_from_cgroup(cpu_max, tmp_path / "none", tmp_path / "none") is None


def test_cgroup_v1_quota_when_there_is_no_v2_file(tmp_path: Path):
    quota, period = tmp_path / "quota", tmp_path / "period"
    quota.write_text("200000")
    period.write_text("100000")
    assert quota_from_cgroup(tmp_path / "absent", quota, period) == 2.0
    quota.write_text("-1")
    assert quota_from_cgroup(tmp_path / "absent", quota, period) is None


def test_intra_op_threads_default_to_the_quota_not_the_host(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("road.runtime.cpu.quota_from_cgroup", lambda: 1.2)
    assert available_cpus() == min(2, len(os.sched_getaffinity(0)))
    so = runtime._session_options(runtime.SessionOptions())
    assert so.intra_op_num_threads == available_cpus()
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_settings_override_every_session_option():
    settings = ServerSettings(
        intra_op_threads=3, inter_op_threads=2, graph_optimization_level="basic"
    )
    options = runtime.SessionOptions.from_settings(settings)
    so = runtime._session_options(options)
    assert so.intra_op_num_threads == 3
    assert so.inter_op_num_threads == 2
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
