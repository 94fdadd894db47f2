"""Which feed-forward output MatMuls static INT8 may quantise: as many as the gate allows.

Their input is GELU's heavy-tailed output, the activation one fixed scale fits worst. Export
first tries all of them in int8; if the gate would refuse that, it adds them one layer at a
time (bottom up) and keeps each one whose inclusion still passes, so a student ships with as
much int8 as its own dev metrics allow. One calibration serves every trial (`keep_fp32`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import onnx

from road.core.tasks import gated_metrics
from road.export.gate import metric_drops
from road.export.options import ExportOptions
from road.export.parity import dev_rows
from road.export.runtime import onnx_runner, open_session
from road.export.source import Checkpoint, pytorch_metrics
from road.export.static_int8 import (
    StaticReport,
    fixed_width_batches,
    keep_fp32,
    quantize_int8_static,
)
from road.training.evaluate import evaluate_with

Drops = dict[str, float]
Evaluate = Callable[[Path], Drops]
"""Gate drops (points per gated metric) of the graph at a path, on the gate's dev rows."""


def within(drops: Drops, budget: float) -> bool:
    """The gate's rule: every drop within budget (NaN fails)."""
    return all(drop <= budget for drop in drops.values())


def _worst(drops: Drops) -> str:
    name = max(drops, key=lambda k: drops[k], default="")
    return f"{name} −{drops[name]:.2f}" if name else "no gated metric"


def select_ffn(
    graph: Path,
    fp32: onnx.ModelProto,
    ffn: Sequence[str],
    report: StaticReport,
    evaluate: Evaluate,
    budget: float,
    large: bool = False,
) -> list[str]:
    """Rewrite `graph` (all of `ffn` in int8) to the chosen set; returns the fp32 ones.

    `report` gets the decision for each MatMul and the drops that made it.
    """
    drops = evaluate(graph)
    report.trials.append({"int8": list(ffn), "drops": drops})
    if within(drops, budget) or not ffn:
        report.quantized_ffn_output = list(ffn)
        return []
    quantized = onnx.load(str(graph))
    trial = graph.with_name(f"trial-{graph.name}")
    chosen: list[str] = []
    reasons: dict[str, str] = {}
    for name in ffn:
        rest = [other for other in ffn if other not in chosen and other != name]
        _save(keep_fp32(quantized, fp32, rest), trial, large)
        drops = evaluate(trial)
        report.trials.append({"int8": chosen + [name], "drops": drops})
        if within(drops, budget):
            chosen.append(name)
        else:
            reasons[name] = f"feed-forward output: int8 failed the gate ({_worst(drops)} points)"
    fp32_names = [name for name in ffn if name not in chosen]
    _save(keep_fp32(quantized, fp32, fp32_names), graph, large)
    report.quantized_ffn_output = chosen
    report.fp32_matmuls |= reasons
    return fp32_names


def _save(model: onnx.ModelProto, path: Path, large: bool) -> None:
    onnx.save(model, str(path), save_as_external_data=large, location=f"{path.name}.data")


def build_static(
    source: Checkpoint, fp32: Path, out: Path, options: ExportOptions, large: bool
) -> dict[str, Any]:
    """Calibrate, quantise and choose the int8 feed-forward outputs; returns the quality notes.

    Calibration batches are `calibration_rows` dev rows of each task, all padded to the
    longest task's `max_seq_len`.
    """
    config = source.config
    rows = dev_rows(config, source.path, options.calibration_rows)
    width = max(task.max_seq_len for task in config.task_defs)
    batches = fixed_width_batches(rows.values(), width)
    intermediate = source.model.config.intermediate_size
    report, model = quantize_int8_static(
        fp32, out, batches, intermediate, options.calibration, large
    )
    reference, _ = pytorch_metrics(source, options.dev_limit)
    gated = gated_metrics(task.spec for task in config.task_defs)

    def evaluate(graph: Path) -> Drops:
        runner = onnx_runner(open_session(graph))
        metrics = evaluate_with(runner, config, source.path, options.dev_limit)
        return metric_drops(reference, metrics, gated)

    ffn = list(report.quantized_ffn_output)
    select_ffn(out, model, ffn, report, evaluate, options.metric_budget, large)
    return {"static_int8": report.as_quality()}
