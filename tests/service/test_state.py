"""TensorRT engines are built during warmup, at the profile's opt and max shapes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from road.core.bundle import ShapeProfile, TensorRTInfo
from road.service.state import TENSORRT, build_engines

PROFILE = ShapeProfile(
    min_batch=1, opt_batch=8, max_batch=32, min_sequence=8, opt_sequence=128, max_sequence=256
)


def fake_runtime(provider: str, tensorrt: TensorRTInfo | None) -> Any:
    shapes: list[tuple[int, ...]] = []

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        shapes.append(inputs["input_ids"].shape)
        return {}

    manifest = SimpleNamespace(tensorrt=tensorrt)
    return SimpleNamespace(provider=provider, manifest=manifest, run=run, shapes=shapes)


def test_tensorrt_engines_are_built_at_opt_and_max_shapes() -> None:
    runtime = fake_runtime(TENSORRT, TensorRTInfo(profile=PROFILE))
    assert build_engines(runtime) == 2
    assert runtime.shapes == [(8, 128), (32, 256)]


def test_no_engine_build_without_tensorrt() -> None:
    cpu = fake_runtime("CPUExecutionProvider", TensorRTInfo(profile=PROFILE))
    no_profile = fake_runtime(TENSORRT, None)
    assert build_engines(cpu) == 0 and build_engines(no_profile) == 0
    assert cpu.shapes == [] and no_profile.shapes == []
