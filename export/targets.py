"""Execution targets: which precisions each one takes, fp16 conversion and TensorRT profiles."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import onnx
from onnxruntime.transformers.float16 import convert_float_to_float16

from road.core.bundle import ShapeProfile, TensorRTInfo
from road.export.errors import ExportError

Target = Literal["cpu", "cuda", "tensorrt"]
Precision = Literal["fp32", "fp16", "int8"]
Quantization = Literal["dynamic", "static"]

# int8 graphs use ORT's CPU integer kernels; fp16 pays off only on a GPU.
PRECISIONS: dict[str, tuple[str, ...]] = {
    "cpu": ("int8", "fp32"),
    "cuda": ("fp16", "fp32"),
    "tensorrt": ("fp16", "fp32"),
}


def check_target(target: str, precision: str | None) -> Precision:
    """The precision to export for `target` (its first one when None), or `ExportError`."""
    if target not in PRECISIONS:
        raise ExportError(f"target {target!r} is not one of {tuple(PRECISIONS)}")
    chosen = precision or PRECISIONS[target][0]
    if chosen not in PRECISIONS[target]:
        raise ExportError(
            f"precision {chosen!r} is not available for target {target}: "
            f"choose one of {PRECISIONS[target]}"
        )
    return chosen  # type: ignore[return-value]


def to_fp16(src: Path, out: Path, large: bool = False) -> Path:
    """Convert `src` to fp16, keeping int64 inputs and float32 outputs (the bundle contract)."""
    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(out), save_as_external_data=large, location=f"{out.name}.data")
    return out


def tensorrt_info(
    lengths: Sequence[int], opt_batch: int, max_batch: int, opt_sequence: int | None, fp16: bool
) -> TensorRTInfo:
    """A profile that covers every row of the tasks' `max_seq_len`s, up to `max_batch` rows."""
    if not lengths:
        raise ExportError("a TensorRT profile needs at least one task")
    longest = max(lengths)
    try:
        profile = ShapeProfile(
            opt_batch=opt_batch,
            max_batch=max_batch,
            opt_sequence=opt_sequence or longest,
            max_sequence=longest,
        )
    except ValueError as exc:
        raise ExportError(f"invalid TensorRT profile: {exc}") from exc
    return TensorRTInfo(profile=profile, fp16=fp16)
