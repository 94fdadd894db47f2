"""`road calibrate`: fit an exported bundle's classification temperatures on dev, in place.

Export fits temperatures itself (`road.core.evaluation`); this is for a bundle exported before
that, or for dev data other than the training config's, without exporting the graph again. It
needs only the serving install: the bundle's own ONNX session runs the dev rows, encoded as the
server encodes them (a long pair is windowed, and counts with its deciding window's logits).

The rows are split in two: the temperature is fitted on the even rows (0, 2, ...) and ECE is
measured, before and after it, on the odd ones it never saw. The bundle is verified first and
only `manifest.json` is rewritten: every other file keeps the hash the manifest already lists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from road.core.bundle import (
    FORMAT_VERSION,
    MANIFEST,
    ClassificationTaskInfo,
    Manifest,
    Tasks,
    load_manifest,
)
from road.core.calibration import expected_calibration_error, fit_temperature, nll, softmax
from road.core.data import ClassificationExample, read_classification
from road.core.rows import length_sorted_batches, run_batches
from road.core.windows import aggregate
from road.export.errors import ExportError
from road.runtime.heads import CharLimits, ClassificationHead
from road.runtime.session import Runtime, SessionOptions
from road.runtime.settings import ModelSettings

SPLIT = "temperature fitted on the even dev rows (0, 2, ...); ECE measured on the odd rows"


def served_logits(
    runtime: Runtime, head: ClassificationHead, examples: Sequence[ClassificationExample],
    limits: CharLimits, batch_size: int = 32,
) -> np.ndarray:  # fmt: skip
    """Each example's logits as the server computes them: its row's, or its deciding window's.

    The deciding window is chosen on raw logits; the server chooses on calibrated ones, which can
    pick another window of the same pair only where two windows' top probabilities cross.
    """
    requests = [head.request(**dict(zip(head.spec.fields, e.texts))) for e in examples]
    rows = head.encode(requests, limits)
    flat = [row for item in rows for row in item]
    batches = length_sorted_batches(flat, batch_size)
    outputs = run_batches(runtime.run, flat, batches, runtime.token_outputs)
    (name,) = head.spec.outputs
    logits, cursor = [], 0
    for item in rows:
        mine = np.stack([o[name] for o in outputs[cursor : cursor + len(item)]])
        cursor += len(item)
        logits.append(mine[aggregate(mine, head.spec.labels).window])
    return np.stack(logits).astype(np.float64)


def fit_and_measure(logits: np.ndarray, golds: np.ndarray) -> dict[str, Any]:
    """The temperature fitted on the even rows, and ECE (percent) and NLL on both halves."""
    fit, held = slice(0, None, 2), slice(1, None, 2)
    temperature = fit_temperature(logits[fit], golds[fit])

    def measured(part: slice, t: float) -> float:
        return 100.0 * expected_calibration_error(softmax(logits[part] / t), golds[part])

    return {
        "temperature": temperature,
        "split": SPLIT,
        "fit_rows": len(golds[fit]),
        "held_out_rows": len(golds[held]),
        "ece": measured(held, 1.0),
        "ece_calibrated": measured(held, temperature),
        "nll": nll(logits[held], golds[held], 1.0),
        "nll_calibrated": nll(logits[held], golds[held], temperature),
        "ece_fit_rows": measured(fit, 1.0),
        "ece_fit_rows_calibrated": measured(fit, temperature),
        "accuracy": 100.0 * float(np.mean(logits[held].argmax(axis=-1) == golds[held])),
    }


def dev_files(bundle: Path, given: Sequence[str]) -> dict[str, Path]:
    """`TASK=PATH` options by task; a bare PATH is the bundle's only classification task's."""
    files: dict[str, Path] = {}
    for value in given:
        name, sep, path = value.partition("=")
        if not sep:
            manifest = load_manifest(bundle, verify=False)
            only = [n for n, i in manifest.tasks.items() if isinstance(i, ClassificationTaskInfo)]
            if len(only) != 1:
                raise ExportError(f"{bundle} has classification tasks {only}: use --dev TASK=PATH")
            name, path = only[0], value
        files[name] = Path(path)
    if not files:
        raise ExportError("no --dev file given")
    return files


def calibrate_bundle(
    bundle: Path, dev: Mapping[str, Path], limit: int | None = None, threads: int = 1
) -> dict[str, dict[str, Any]]:
    """Fit each named classification task's temperature on its dev file; rewrite the manifest.

    Returns each task's record, as written to `quality.calibration.<task>`.
    """
    manifest = load_manifest(bundle, verify=True)
    runtime = Runtime.load(bundle, SessionOptions(intra_op_threads=threads))
    records: dict[str, dict[str, Any]] = {}
    for name, path in dev.items():
        head = runtime.heads.get(name)
        if not isinstance(head, ClassificationHead):
            kinds = [n for n, h in runtime.heads.items() if isinstance(h, ClassificationHead)]
            raise ExportError(f"{bundle}: no classification task {name!r} (it has: {kinds})")
        examples = read_classification(path, head.spec.fields, head.spec.labels)[:limit]
        if len(examples) < 2:
            raise ExportError(f"{path}: {len(examples)} dev rows; calibration needs at least 2")
        logits = served_logits(runtime, head, examples, ModelSettings())
        golds = np.asarray([head.spec.labels.index(e.label) for e in examples])
        records[name] = {"dev": str(path), "rows": len(examples), **fit_and_measure(logits, golds)}
    rewrite_manifest(bundle, with_temperatures(manifest, records))
    return records


def with_temperatures(manifest: Manifest, records: Mapping[str, dict[str, Any]]) -> Manifest:
    """The manifest at the current format with the fitted temperatures and their records."""
    tasks = dict(manifest.tasks.root)
    for name, record in records.items():
        info = tasks[name]
        assert isinstance(info, ClassificationTaskInfo)
        tasks[name] = info.model_copy(update={"temperature": record["temperature"]})
    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    calibration = dict(manifest.quality.get("calibration", {}))
    calibration.update({name: {**record, "created": created} for name, record in records.items()})
    values = manifest.model_dump(mode="json")
    values |= {
        "format_version": FORMAT_VERSION,
        "tasks": Tasks(tasks).model_dump(mode="json"),
        "quality": {**manifest.quality, "calibration": calibration},
    }
    return Manifest.model_validate(values)


def rewrite_manifest(bundle: Path, manifest: Manifest) -> None:
    """Replace `manifest.json` atomically, its file hashes unchanged, then verify the bundle."""
    tmp = bundle / f".{MANIFEST}.tmp"
    tmp.write_text(manifest.model_dump_json(indent=2) + "\n")
    os.replace(tmp, bundle / MANIFEST)
    load_manifest(bundle, verify=True)
