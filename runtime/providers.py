"""Execution-provider selection at load: TensorRT, then CUDA, then CPU, as the bundle allows.

The choice depends on the bundle's `target` (what export prepared the graph for) and on what
this onnxruntime build offers (`onnxruntime.get_available_providers()`). Every choice carries a
reason, logged once at load and exported as a metric label. See docs/export.md.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from road.core.bundle import Manifest, ShapeProfile, TensorRTInfo
from road.core.errors import BundleError

log = logging.getLogger(__name__)

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class ProviderChoice:
    """The providers a session is opened with, in priority order, and why."""

    provider: str
    reason: str
    providers: tuple[str, ...] = (CPU,)
    options: tuple[dict[str, str], ...] = field(default_factory=lambda: ({},))

    def log(self) -> None:
        log.info("execution provider: %s (%s)", self.provider, self.reason)


def profile_shapes(inputs: Sequence[str], batch: int, sequence: int) -> str:
    """TensorRT EP's shape syntax: `name:BxS` for every input, comma-separated."""
    return ",".join(f"{name}:{batch}x{sequence}" for name in inputs)


def tensorrt_options(
    info: TensorRTInfo, inputs: Sequence[str], engine_cache: Path, device_id: int = 0
) -> dict[str, str]:
    """Provider options for TensorRT: explicit shape profile, fp16, engine and timing caches."""
    # Explicit min/opt/max shapes make TensorRT build one engine that covers every batch the
    # server forms; without them it rebuilds whenever a larger shape arrives, on a live request.
    p = info.profile
    return {
        "device_id": str(device_id),
        "trt_fp16_enable": str(info.fp16),
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(engine_cache),
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": str(engine_cache),
        "trt_profile_min_shapes": profile_shapes(inputs, p.min_batch, p.min_sequence),
        "trt_profile_opt_shapes": profile_shapes(inputs, p.opt_batch, p.opt_sequence),
        "trt_profile_max_shapes": profile_shapes(inputs, p.max_batch, p.max_sequence),
    }


def engine_cache_dir(bundle_dir: Path, manifest: Manifest) -> Path:
    """The bundle's engine cache when usable, else a per-graph directory under the temp dir."""
    info = manifest.tensorrt
    if info is None:
        raise BundleError(f"{bundle_dir}: the bundle has no tensorrt section")
    cache = bundle_dir / info.engine_cache
    # Engines built at export ship in the bundle; a read-only bundle without them (a mounted
    # volume) builds into a private directory instead.
    if cache.is_dir() and (os.access(cache, os.W_OK) or any(cache.iterdir())):
        return cache
    if not cache.exists() and os.access(bundle_dir, os.W_OK):
        return cache
    digest = manifest.files.get(manifest.graph, "unknown")[:12]
    return Path(tempfile.gettempdir()) / f"road-trt-{digest}"


def select_providers(
    manifest: Manifest,
    available: Sequence[str],
    engine_cache: Path | None = None,
    device_id: int = 0,
) -> ProviderChoice:
    """Pick providers for `manifest` from `available`; `BundleError` when none can serve it."""
    offered = ", ".join(available) or "none"
    if manifest.target == "cpu":
        note = "; the GPU is not used: export --target cuda for it" if CUDA in available else ""
        return ProviderChoice(CPU, f"bundle target cpu ({manifest.precision}){note}")
    cuda = {"device_id": str(device_id)}
    if manifest.target == "cuda":
        if CUDA not in available:
            raise BundleError(
                f"the bundle was exported for CUDA ({manifest.precision}) but this onnxruntime "
                f"offers only {offered}: install road[gpu] on a GPU machine, or export "
                "--target cpu for this one"
            )
        return ProviderChoice(CUDA, "bundle target cuda", (CUDA, CPU), (cuda, {}))
    return _tensorrt_choice(manifest, available, engine_cache, cuda)


def _tensorrt_choice(
    manifest: Manifest, available: Sequence[str], engine_cache: Path | None, cuda: dict[str, str]
) -> ProviderChoice:
    if manifest.tensorrt is None:
        raise BundleError("a tensorrt bundle must have a tensorrt section")
    if TENSORRT in available:
        if engine_cache is None:
            raise BundleError("TensorRT needs an engine cache directory")
        options = tensorrt_options(
            manifest.tensorrt, manifest.inputs, engine_cache, int(cuda["device_id"])
        )
        # Nodes TensorRT cannot take fall back to CUDA, then CPU, inside the same session.
        return ProviderChoice(
            TENSORRT, "bundle target tensorrt", (TENSORRT, CUDA, CPU), (options, cuda, {})
        )
    if CUDA in available:
        # Documented fallback: the tensorrt bundle's graph is plain fp32 ONNX, which CUDA runs.
        return ProviderChoice(
            CUDA,
            "fallback: bundle target tensorrt but TensorrtExecutionProvider is not available "
            "(TensorRT libraries missing?); running the fp32 graph on CUDA",
            (CUDA, CPU),
            (cuda, {}),
        )
    raise BundleError(
        f"the bundle was exported for TensorRT but this onnxruntime offers only "
        f"{', '.join(available) or 'none'}: "
        "install road[gpu] with TensorRT on a GPU machine, or export --target cpu for this one"
    )


def warmup_batches(profile: ShapeProfile) -> list[dict[str, np.ndarray]]:
    """Inputs at the profile's opt and max shapes: build every engine before readiness."""
    shapes = [(profile.opt_batch, profile.opt_sequence), (profile.max_batch, profile.max_sequence)]
    return [
        {
            "input_ids": np.full((batch, sequence), 1000, dtype=np.int64),
            "attention_mask": np.ones((batch, sequence), dtype=np.int64),
            "token_type_ids": np.zeros((batch, sequence), dtype=np.int64),
        }
        for batch, sequence in shapes
    ]
