"""Execution-provider selection for every bundle target and set of available providers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from road.core.bundle import Manifest, NLITaskInfo, ShapeProfile, Tasks, TensorRTInfo
from road.core.errors import BundleError
from road.core.tasks import GRAPH_OUTPUTS
from road.runtime import providers
from road.runtime import session as runtime_module
from road.runtime.providers import (
    CPU,
    CUDA,
    TENSORRT,
    engine_cache_dir,
    select_providers,
    tensorrt_options,
    warmup_batches,
)
from road.runtime.session import Runtime, SessionOptions
from road.runtime.settings import default_bundle

PROFILE = ShapeProfile(opt_batch=16, max_batch=64, opt_sequence=128, max_sequence=256)
TRT = TensorRTInfo(profile=PROFILE, fp16=True)
ALL = (TENSORRT, CUDA, CPU)
CUDA_ONLY = (CUDA, CPU)
CPU_ONLY = (CPU,)


def manifest(target: str, precision: str) -> Manifest:
    return Manifest(
        target=target,  # type: ignore[arg-type]
        precision=precision,  # type: ignore[arg-type]
        quantization="dynamic" if precision == "int8" else None,
        tensorrt=TRT if target == "tensorrt" else None,
        outputs=GRAPH_OUTPUTS,
        tasks=Tasks(nli=NLITaskInfo(max_seq_len=128)),
        files={"model.onnx": "ab" * 32},
    )


@pytest.mark.parametrize("available", [ALL, CUDA_ONLY, CPU_ONLY])
@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_cpu_bundles_always_run_on_cpu(available: tuple[str, ...], precision: str) -> None:
    choice = select_providers(manifest("cpu", precision), available)
    assert (choice.provider, choice.providers) == (CPU, (CPU,))
    assert "bundle target cpu" in choice.reason
    # A GPU that the bundle cannot use is worth saying in the log line.
    assert ("GPU is not used" in choice.reason) == (CUDA in available)


@pytest.mark.parametrize("available", [ALL, CUDA_ONLY])
def test_cuda_bundles_run_on_cuda_then_cpu(available: tuple[str, ...]) -> None:
    choice = select_providers(manifest("cuda", "fp16"), available, device_id=1)
    assert (choice.provider, choice.providers) == (CUDA, (CUDA, CPU))
    assert choice.options == ({"device_id": "1"}, {})


def test_a_cuda_bundle_is_refused_without_cuda() -> None:
    with pytest.raises(BundleError, match="exported for CUDA.*offers only CPUExecutionProvider"):
        select_providers(manifest("cuda", "fp16"), CPU_ONLY)


def test_tensorrt_bundles_run_on_tensorrt_then_cuda_then_cpu(tmp_path: Path) -> None:
    choice = select_providers(manifest("tensorrt", "fp16"), ALL, tmp_path)
    assert (choice.provider, choice.providers) == (TENSORRT, (TENSORRT, CUDA, CPU))
    assert choice.options[0]["trt_engine_cache_path"] == str(tmp_path)
    assert choice.options[1:] == ({"device_id": "0"}, {})


def test_a_tensorrt_bundle_falls_back_to_cuda_and_says_so() -> None:
    choice = select_providers(manifest("tensorrt", "fp16"), CUDA_ONLY)
    assert (choice.provider, choice.providers) == (CUDA, (CUDA, CPU))
    assert choice.reason.startswith("fallback:") and TENSORRT in choice.reason


def test_a_tensorrt_bundle_is_refused_on_cpu_only() -> None:
    with pytest.raises(BundleError, match="exported for TensorRT"):
        select_providers(manifest("tensorrt", "fp16"), CPU_ONLY)


def test_tensorrt_options_are_the_documented_ones(tmp_path: Path) -> None:
    inputs = ("input_ids", "attention_mask", "token_type_ids")
    assert tensorrt_options(TRT, inputs, tmp_path / "cache", device_id=2) == {
        "device_id": "2",
        "trt_fp16_enable": "True",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(tmp_path / "cache"),
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": str(tmp_path / "cache"),
        "trt_profile_min_shapes": "input_ids:1x1,attention_mask:1x1,token_type_ids:1x1",
        "trt_profile_opt_shapes": "input_ids:16x128,attention_mask:16x128,token_type_ids:16x128",
        "trt_profile_max_shapes": "input_ids:64x256,attention_mask:64x256,token_type_ids:64x256",
    }
    fp32 = TensorRTInfo(profile=PROFILE, fp16=False)
    assert tensorrt_options(fp32, inputs, tmp_path)["trt_fp16_enable"] == "False"


def test_profile_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="min <= opt <= max"):
        ShapeProfile(opt_batch=128, max_batch=64, opt_sequence=128, max_sequence=256)


def test_engine_cache_is_in_the_bundle_when_writable(tmp_path: Path) -> None:
    assert engine_cache_dir(tmp_path, manifest("tensorrt", "fp16")) == tmp_path / "trt_cache"


def test_engine_cache_moves_out_of_a_read_only_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # os.access stands in for a read-only mount (root may write anywhere in the test VM).
    monkeypatch.setattr(providers.os, "access", lambda path, mode: False)
    cache = engine_cache_dir(tmp_path, manifest("tensorrt", "fp16"))
    assert cache.name == f"road-trt-{'ab' * 6}" and not cache.is_relative_to(tmp_path)


def test_engine_cache_shipped_in_a_read_only_bundle_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "trt_cache").mkdir()
    (tmp_path / "trt_cache" / "model.engine").write_bytes(b"engine")
    monkeypatch.setattr(providers.os, "access", lambda path, mode: False)
    assert engine_cache_dir(tmp_path, manifest("tensorrt", "fp16")) == tmp_path / "trt_cache"


def test_warmup_covers_the_profile_opt_and_max_shapes() -> None:
    shapes = [batch["input_ids"].shape for batch in warmup_batches(PROFILE)]
    assert shapes == [(16, 128), (64, 256)]


class FakeSession:
    """Records how the runtime opened its session."""

    def __init__(self, path: str, sess_options: Any, providers: list, provider_options: list):
        self.path, self.providers, self.provider_options = path, providers, provider_options

    def get_providers(self) -> list[str]:
        return list(self.providers)

    def run(self, names: list[str], inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        raise AssertionError("not run in these tests")


def tensorrt_copy(tmp_path: Path) -> Path:
    """The default bundle re-labelled as a TensorRT bundle (the graph itself is not opened)."""
    from road.core.bundle import load_manifest, write_manifest

    bundle = Path(shutil.copytree(default_bundle(), tmp_path / "bundle"))
    original = load_manifest(bundle)
    write_manifest(
        bundle,
        original.model_copy(
            update={
                "target": "tensorrt",
                "precision": "fp16",
                "quantization": None,
                "tensorrt": TRT,
            }
        ),
    )
    return bundle


def stub(monkeypatch: pytest.MonkeyPatch, available: tuple[str, ...]) -> None:
    monkeypatch.setattr(runtime_module.ort, "get_available_providers", lambda: list(available))
    monkeypatch.setattr(runtime_module.ort, "InferenceSession", FakeSession)


def test_runtime_passes_the_tensorrt_profile_to_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub(monkeypatch, ALL)
    runtime = Runtime.load(tensorrt_copy(tmp_path))
    session: Any = runtime.session
    assert session.providers == [TENSORRT, CUDA, CPU]
    options = session.provider_options[0]
    assert options["trt_profile_max_shapes"].startswith("input_ids:64x256,")
    assert options["trt_engine_cache_path"] == str(tmp_path / "bundle" / "trt_cache")
    assert (runtime.provider, runtime.provider_reason) == (TENSORRT, "bundle target tensorrt")


def test_runtime_refuses_a_tensorrt_bundle_on_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub(monkeypatch, CPU_ONLY)
    with pytest.raises(BundleError, match="TensorRT"):
        Runtime.load(tensorrt_copy(tmp_path))


def test_runtime_providers_setting_restricts_the_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub(monkeypatch, ALL)
    runtime = Runtime.load(tensorrt_copy(tmp_path), SessionOptions(providers=CUDA_ONLY))
    assert runtime.provider == CUDA and runtime.provider_reason.startswith("fallback:")


def test_runtime_serves_the_default_bundle_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    stub(monkeypatch, CUDA_ONLY)
    runtime = Runtime.load(default_bundle())
    assert runtime.provider == CPU and "bundle target cpu (int8)" in runtime.provider_reason
