"""Item 3's speed column: every finished student as an INT8 bundle, timed in one process.

Each run's `final/` is exported the way the default bundle is (static INT8, `road export
--quantization static`), then timed with bench/ablation/throughput.py on its own dev rows at
batch 1 and 32, one ONNX Runtime thread, beside the shipped default bundle, so the ratios
between shapes come from one run on one machine. Written to bench/results/ablation/speed.json.

    python -m bench.ablation --speed
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bench.ablation.summary import machine, stamp
from road.training.config import load_config

SPEED = Path("bench/results/ablation/speed.json")
DEFAULT_CHECKPOINT = Path("checkpoints/student-default")
# The export's quality gate is not what this measures (dev quality is in summary.json): a
# short gate keeps each export to a minute, and a generous budget keeps it from refusing one.
GATE = {"dev_limit": 64, "metric_budget": 100.0}


def timed(bundle: Path, checkpoint: Path, rows: int) -> dict[str, dict[str, float]]:
    from bench.ablation.throughput import bundle_throughput

    config = load_config(checkpoint / "train_config.yaml")
    return bundle_throughput(bundle, config, checkpoint, rows)


def student_speed(final: Path, work: Path, rows: int) -> dict[str, dict[str, float]]:
    """Rows/s of one run's student, exported as static INT8 into `work`."""
    from road.export.pipeline import export_bundle

    bundle = work / final.parent.name
    export_bundle(final, bundle, precision="int8", quantization="static", **GATE)
    return timed(bundle, final, rows)


def measure(entries: list[dict[str, Any]], default_bundle: Path, rows: int = 256) -> dict[str, Any]:
    """speed.json's content: the default bundle, then every finished run of `entries`."""
    speeds: dict[str, Any] = {}
    if (DEFAULT_CHECKPOINT / "train_config.yaml").is_file():
        speeds["default bundle (6 layers)"] = {
            "layers": 6,
            "rows_per_s": timed(default_bundle, DEFAULT_CHECKPOINT, rows),
        }
    with tempfile.TemporaryDirectory(prefix="road-ablation-speed-") as work:
        for entry in entries:
            final = Path(entry["output_dir"]) / "final" if "output_dir" in entry else None
            if final is not None and (final / "train_config.yaml").is_file():
                speeds[entry["name"]] = {
                    "layers": entry["layers"],
                    "rows_per_s": student_speed(final, Path(work), rows),
                }
    return {"machine": machine(), "finished": stamp(), "threads": 1, "rows": rows,
            "bundles": speeds}  # fmt: skip


def load(path: Path | None = None) -> dict[str, Any] | None:
    path = path or SPEED
    return json.loads(path.read_text()) if path.is_file() else None


def save(result: dict[str, Any], path: Path | None = None) -> None:
    path = path or SPEED
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


def table(result: dict[str, Any]) -> str:
    """Rows/s per bundle and task, and each bundle's QA batch-1 speed against the default's."""
    bundles = result["bundles"]
    reference = next(iter(bundles.values()))["rows_per_s"]["qa"]["batch_1"] if bundles else None
    lines = [
        "| bundle | layers | QA rows/s batch 1 | QA rows/s batch 32 | NLI rows/s batch 1 "
        "| NLI rows/s batch 32 | QA batch 1 vs first row |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, speed in bundles.items():
        qa, nli = speed["rows_per_s"].get("qa", {}), speed["rows_per_s"].get("nli", {})
        ratio = f"{qa['batch_1'] / reference:.2f}×" if reference and qa else "–"
        lines.append(
            f"| {name} | {speed['layers']} | {qa.get('batch_1', '–')} | {qa.get('batch_32', '–')} "
            f"| {nli.get('batch_1', '–')} | {nli.get('batch_32', '–')} | {ratio} |"
        )
    return "\n".join(lines)
