"""What `road export` is told: a light dataclass, so the CLI reads its defaults without torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from road.export.graph import Exporter
    from road.export.static_int8 import Calibration
    from road.export.targets import Precision, Quantization, Target


@dataclass(frozen=True)
class ExportOptions:
    """What `road export` builds; see docs/export.md for every knob."""

    target: Target = "cpu"
    precision: Precision = "int8"
    quantization: Quantization = "dynamic"
    optimize: bool = True
    dev_limit: int | None = None
    atol: float = 1e-3
    metric_budget: float = 1.0
    trt_opt_batch: int = 16
    trt_max_batch: int = 64
    trt_opt_sequence: int | None = None
    calibration_rows: int = 128
    # Static INT8's activation calibrator (minmax | percentile | entropy; docs/export.md).
    calibration: Calibration = "minmax"
    # External data for the graph's weights; None: when they exceed protobuf's 2 GB.
    large: bool | None = None
    # A markdown file appended to the bundle's MODEL_CARD.md (speed, failure modes).
    card_notes: str | None = None

    @property
    def exporter(self) -> Exporter:
        fusable = self.optimize and self.target != "tensorrt"
        return "torchscript" if fusable or self.quantization_mode == "static" else "dynamo"

    @property
    def quantization_mode(self) -> Quantization | None:
        return self.quantization if self.precision == "int8" else None
