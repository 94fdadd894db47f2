"""Golden rows: dev requests with the outputs export saw, checked again at start and at load.

Export (and `road golden BUNDLE`, `road.runtime.golden_build`) writes `golden.json` into the
bundle; the manifest hashes it like every other file. The check re-runs every row, each row
alone, through the heads and session the server answers with, and compares (docs/bundle.md):

- every stored logit (all of a classification row's, span logits at probed tokens) within
  `logit_atol`;
- the response (label, answer text and offsets, scores) equal, numbers within `score_atol`,
  unless the row is a close call: its decision margin, in the worst-case movement of the logits
  it compares, is at most `logit_atol`, so a drift within tolerance may flip it;
- with the tolerance the larger of the reference provider's entry and this provider's.

The API, for the server's start and a repository's load:

    report = check_golden(runtime)   # -> GoldenReport; raises road.core.errors.GoldenDrift

`runtime` is a `road.runtime.session.Runtime` (anything with its `GoldenModel` members). A
bundle without golden rows logs a warning and passes with `report.status == "absent"`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from road.core.bundle import Manifest
from road.core.errors import GoldenDrift
from road.core.rows import Row, RowOutput, pad_rows, row_outputs
from road.runtime.golden_rows import (
    GOLDEN_FILE,
    GoldenRow,
    GoldenSet,
    Probe,
    Tolerance,
    read_golden,
    task_settings,
)
from road.runtime.heads import Head
from road.runtime.protocol import Schema

__all__ = [
    "GOLDEN_FILE",
    "GoldenModel",
    "GoldenReport",
    "GoldenSet",
    "RowDrift",
    "Tolerance",
    "check_golden",
    "read_golden",
]

log = logging.getLogger(__name__)


class GoldenModel(Protocol):
    """What the check needs from a runtime (`Runtime` has all of it)."""

    bundle_dir: Path
    manifest: Manifest
    heads: Mapping[str, Head]
    token_outputs: frozenset[str]

    @property
    def provider(self) -> str: ...

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class Limits:
    """Golden rows test the model, not admission: only the window count is bounded."""

    max_question_chars: int = 10**9
    max_context_chars: int = 10**9
    max_nli_chars: int = 10**9
    max_nli_windows: int = 64


LIMITS = Limits()


def answer_alone(
    model: GoldenModel, head: Head, request: Schema
) -> tuple[Schema, list[Row], list[RowOutput]]:
    """One request through its head, each encoder row in a run of its own.

    Alone, a row's outputs do not depend on batch mates (a dynamic int8 graph quantises
    activations per batch) or on the server's batching settings.
    """
    (rows,) = head.encode([request], LIMITS)
    outputs = []
    for row in rows:
        result = model.run(pad_rows([row]))
        outputs.append(row_outputs(result, 0, len(row), model.token_outputs))
    (response,) = head.decode([request], [rows], outputs)
    return response, list(rows), outputs


def response_json(response: Schema) -> dict[str, Any]:
    return response.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class RowDrift:
    row: str
    logit_diff: float
    score_diff: float
    problems: tuple[str, ...]


@dataclass(frozen=True)
class GoldenReport:
    """What a check found; `fields()` is its structured log record."""

    status: Literal["pass", "drift", "absent"]
    bundle: str
    provider: str
    reference_provider: str | None = None
    tolerance: Tolerance | None = None
    rows: int = 0
    close_calls: int = 0
    max_logit_diff: float = 0.0
    max_score_diff: float = 0.0
    drifts: tuple[RowDrift, ...] = ()
    seconds: float = 0.0

    def fields(self) -> dict[str, Any]:
        values = asdict(self)
        values["tolerance"] = self.tolerance.model_dump() if self.tolerance else None
        values["drifts"] = [asdict(d) for d in self.drifts[:10]]
        return {f"golden_{k}": v for k, v in values.items()}

    def summary(self) -> str:
        shown = "; ".join(f"{d.row}: {', '.join(d.problems)}" for d in self.drifts[:5])
        more = f" (and {len(self.drifts) - 5} more)" if len(self.drifts) > 5 else ""
        return (
            f"{self.bundle}: {len(self.drifts)} of {self.rows} golden rows drift on "
            f"{self.provider} beyond {self.tolerance}: {shown}{more}"
        )


def check_golden(model: GoldenModel) -> GoldenReport:
    """Re-run the bundle's golden rows; raises `GoldenDrift` naming the rows that drift."""
    started = time.perf_counter()
    bundle = str(model.bundle_dir)
    golden = read_golden(model.bundle_dir, model.manifest)
    if golden is None:
        log.warning(
            "bundle has no golden rows: its outputs on this machine are unchecked",
            extra={"bundle": bundle, "format_version": model.manifest.format_version},
        )
        return GoldenReport(status="absent", bundle=bundle, provider=model.provider)
    redecode = _changed_decoding(model, golden)
    tol = golden.tolerance(model.provider)
    checked = [(row, _check_row(model, row, tol, row.task in redecode)) for row in golden.rows
               if row.task in model.heads]  # fmt: skip
    drifts = tuple(d for _, d in checked if d.problems)
    report = GoldenReport(
        status="drift" if drifts else "pass",
        bundle=bundle,
        provider=model.provider,
        reference_provider=golden.provider,
        tolerance=tol,
        rows=len(checked),
        close_calls=sum(row.margin <= tol.logit_atol for row, _ in checked),
        max_logit_diff=max((d.logit_diff for _, d in checked), default=0.0),
        max_score_diff=max((d.score_diff for _, d in checked), default=0.0),
        drifts=drifts,
        seconds=round(time.perf_counter() - started, 3),
    )
    if drifts:
        log.error("golden rows drift", extra=report.fields())
        raise GoldenDrift(report.summary(), tuple(d.row for d in drifts), report.fields())
    log.info("golden rows pass", extra=report.fields())
    return report


# A classification task's rows hold its logits whole, so its answers can be decoded again
# under a new temperature (`road calibrate` after the rows); any other change makes them stale.
REDECODABLE = frozenset({"temperature"})


def _changed_decoding(model: GoldenModel, golden: GoldenSet) -> set[str]:
    """Tasks whose expected answers are decoded again from the stored logits; raises
    `GoldenDrift` for rows computed under other task settings that this cannot undo."""
    redecode = set()
    for name, info in model.manifest.tasks.items():
        recorded = golden.settings.get(name)
        if recorded is None:
            log.warning("task has no golden rows", extra={"task": name})
            continue
        now = task_settings(info)
        changed = sorted(k for k in {*recorded, *now} if recorded.get(k) != now.get(k))
        if changed and set(changed) <= REDECODABLE and not model.heads[name].spec.token_outputs:
            redecode.add(name)
        elif changed:
            detail = ", ".join(f"{k} {recorded.get(k)!r} -> {now.get(k)!r}" for k in changed)
            raise GoldenDrift(
                f"{model.bundle_dir}: the golden rows of task {name} were computed with other "
                f"task settings ({detail}); recompute them: road golden {model.bundle_dir}",
                (name,),
            )
    return redecode


def _check_row(model: GoldenModel, row: GoldenRow, tol: Tolerance, redecode: bool) -> RowDrift:
    head = model.heads[row.task]
    request = head.request.model_validate(row.request)
    response, rows, outputs = answer_alone(model, head, request)
    expected = row.response
    if redecode and len(rows) == len(row.probes):
        stored = [{k: np.asarray(v, np.float32) for k, v in p.whole.items()} for p in row.probes]
        expected = response_json(head.decode([request], [rows], stored)[0])
    return _compare(row, expected, response, outputs, tol)


def _compare(
    row: GoldenRow,
    expected: dict[str, Any],
    response: Schema,
    outputs: list[RowOutput],
    tol: Tolerance,
) -> RowDrift:
    name = f"{row.task}/{row.id}"
    if len(outputs) != len(row.probes):
        problem = f"{len(outputs)} encoder rows, expected {len(row.probes)}"
        return RowDrift(name, math.inf, math.inf, (problem,))
    logit_diff = float(np.max([0.0, *(_probe_diff(p, o) for p, o in zip(row.probes, outputs))]))
    problems = []
    # `not <=`: a NaN drifts.
    if not logit_diff <= tol.logit_atol:
        problems.append(f"logits differ by {logit_diff:.3g}")
    score_diff = 0.0
    if row.margin > tol.logit_atol:
        mismatches: list[str] = []
        score_diff = _diff(expected, response_json(response), tol.score_atol, "", mismatches)
        problems += mismatches
    return RowDrift(name, logit_diff, score_diff, tuple(problems))


def _probe_diff(probe: Probe, output: RowOutput) -> float:
    """The largest stored logit's move; inf when the outputs no longer have its shape."""
    if any(max(probe.positions, default=-1) >= len(output[k]) for k in probe.at):
        return math.inf
    pairs = [(output[k][list(probe.positions)], v) for k, v in probe.at.items()]
    pairs += [(output[k], v) for k, v in probe.whole.items()]
    diffs = [0.0]
    for actual, expected in pairs:
        if actual.shape != (len(expected),):
            return math.inf
        diffs.append(float(np.max(np.abs(actual.astype(np.float64) - np.asarray(expected)))))
    # np.max keeps a NaN where the builtin might not.
    return float(np.max(diffs))


def _diff(expected: Any, actual: Any, atol: float, path: str, out: list[str]) -> float:
    """Walk two JSON values: numbers within `atol`, the rest equal; returns the largest gap."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        gaps = [
            _diff(expected.get(k), actual.get(k), atol, f"{path}.{k}".lstrip("."), out)
            for k in sorted({*expected, *actual})
        ]
        return max(gaps, default=0.0)
    if isinstance(expected, float) and isinstance(actual, int | float):
        gap = abs(float(actual) - expected)
        if not gap <= atol:
            out.append(f"{path} {actual:.4g}, expected {expected:.4g}")
        return gap
    if expected != actual or type(expected) is not type(actual):
        out.append(f"{path} {json.dumps(actual)}, expected {json.dumps(expected)}")
    return 0.0
