"""Training precision: bf16 autocast where the hardware runs it natively, fp32 elsewhere.

Master weights and optimizer state stay fp32 in every mode; only the forward (and so the
backward) runs its matmuls in bf16 under `torch.autocast`.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
# CPU flags (Linux /proc/cpuinfo) of native bf16 matmul: AVX-512 BF16 (Zen 4/5, Cooper Lake+)
# and AMX (Sapphire Rapids+). Without them autocast emulates bf16 and is slower than fp32.
BF16_CPU_FLAGS: tuple[str, ...] = ("amx_bf16", "avx512_bf16")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a run uses on its device, and why."""

    precision: Literal["fp32", "bf16"]
    device_type: str
    reason: str

    def autocast(self) -> AbstractContextManager[object]:
        if self.precision == "fp32":
            return nullcontext()
        return torch.autocast(self.device_type, dtype=torch.bfloat16)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo does not exist, e.g. macOS)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def native_bf16(device_type: str, flags: set[str] | None = None) -> tuple[bool, str]:
    """Whether `device_type` runs bf16 matmuls natively, with the evidence."""
    if device_type == "cuda":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return True, f"CUDA device {torch.cuda.get_device_name()} supports bf16"
        return False, "CUDA device without bf16 support"
    found = sorted((cpu_flags() if flags is None else flags) & set(BF16_CPU_FLAGS))
    if found:
        return True, f"CPU has {', '.join(found)}"
    return False, f"CPU has none of {', '.join(BF16_CPU_FLAGS)}"


def choose_precision(
    requested: str, device_type: str, flags: set[str] | None = None
) -> PrecisionChoice:
    """Resolve `auto` by detection; an explicit `bf16` is honoured even where it is emulated."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {requested!r}")
    native, evidence = native_bf16(device_type, flags)
    if requested == "fp32":
        return PrecisionChoice("fp32", device_type, "fp32 requested")
    if requested == "bf16":
        note = "" if native else " (emulated: slower than fp32 here)"
        return PrecisionChoice("bf16", device_type, f"bf16 requested; {evidence}{note}")
    if native:
        return PrecisionChoice("bf16", device_type, f"auto: {evidence}")
    return PrecisionChoice("fp32", device_type, f"auto: {evidence}")
