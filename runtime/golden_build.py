"""Computing a bundle's golden rows (`road.runtime.golden`) from its tasks' dev files.

Export calls `build_golden` on the graph it ships; `road golden BUNDLE --dev TASK=PATH` calls
`add_golden`, which adds them to an existing bundle without touching its graph.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from road.core.bundle import ClassificationTaskInfo, SpanTaskInfo, load_manifest, write_manifest
from road.core.data import read_classification, read_squad
from road.core.errors import BundleError, InputTooLong
from road.core.negatives import with_unanswerable
from road.core.qa import QAWindow
from road.core.qa_decode import decode_answers
from road.core.rows import Row, RowOutput
from road.core.tasks import TaskKind
from road.runtime.golden import GoldenModel, answer_alone, response_json
from road.runtime.golden_rows import (
    GOLDEN_FILE,
    GoldenRow,
    GoldenSet,
    Probe,
    Tolerance,
    task_settings,
)
from road.runtime.heads import Head
from road.runtime.protocol import Schema
from road.runtime.providers import CPU, CUDA, TENSORRT
from road.runtime.session import Runtime, SessionOptions

log = logging.getLogger(__name__)
# Per task: span extraction takes the first answerable dev questions plus other-article
# unanswerable ones; classification the first rows of each label. Plus each head's example.
SPAN_ROWS = 20
UNANSWERABLE_FRACTION = 0.2
CLASSIFICATION_ROWS = 24
# Span logits kept per encoder row: every (length // PROBES)-th token, CLS and both argmaxes.
PROBES = 16
DECIMALS = 5
# logit_atol per provider and precision: another CPU's kernels, CUDA (TF32 on by default),
# TensorRT (fp16). The GPU rows have never been measured (docs/bundle.md); their int8 entry
# is what a QDQ graph run as float ops instead of fused integer kernels moved the shipped
# bundle's logits by on CPU (0.78, graph optimisation "basic"), as a GPU runs QDQ.
LOGIT_ATOL: dict[str, dict[str, float]] = {
    CPU: {"fp32": 2e-3, "fp16": 3e-2, "int8": 0.25},
    CUDA: {"fp32": 5e-2, "fp16": 0.15, "int8": 1.0},
    TENSORRT: {"fp32": 0.15, "fp16": 0.25, "int8": 1.0},
}
# Outputs compared per decision: a span sums a start and an end logit and is compared with
# another span or the null sum (4 logits); a label's logit with another label's (2).
COMPARED_LOGITS = {TaskKind.SPAN_EXTRACTION: 4, TaskKind.CLASSIFICATION: 2}
CAP = 1e6


def default_tolerances(precision: str) -> dict[str, Tolerance]:
    """Each provider's tolerance for a graph of `precision`.

    A probability moves by at most a quarter of its log-odds' move, and those move by at most
    4 logit_atol (spans) or 2 logit_atol / temperature (labels): score_atol = logit_atol.
    """
    return {
        provider: Tolerance(logit_atol=by[precision], score_atol=by[precision])
        for provider, by in LOGIT_ATOL.items()
    }


def golden_requests(head: Head, dev: Path) -> list[tuple[str, Schema]]:
    """A task's golden requests, by id, from its dev file (deterministic: file order)."""
    fields = head.spec.fields
    if head.spec.kind is TaskKind.SPAN_EXTRACTION:
        examples = read_squad(dev)
        answerable = [e for e in examples if e.answers][:SPAN_ROWS]
        negatives = with_unanswerable(answerable, UNANSWERABLE_FRACTION, seed=0)
        chosen = [(e.id, (e.question, e.context)) for e in negatives]
    else:
        rows = read_classification(dev, fields, head.spec.labels)
        per_label = max(1, CLASSIFICATION_ROWS // len(head.spec.labels))
        chosen = []
        for label in head.spec.labels:
            chosen += [(r.id, r.texts) for r in rows if r.label == label][:per_label]
    requests = [(i, head.request(**dict(zip(fields, texts)))) for i, texts in chosen]
    return [*requests, ("example", head.example())]


def golden_row(model: GoldenModel, task: str, row_id: str, request: Schema) -> GoldenRow:
    head = model.heads[task]
    response, rows, outputs = answer_alone(model, head, request)
    return GoldenRow(
        task=task,
        id=row_id,
        request=request.model_dump(mode="json", exclude_defaults=True),
        response=response_json(response),
        margin=min(CAP, _margin(head, request, response, rows, outputs)),
        probes=tuple(_probe(out, head, len(row)) for row, out in zip(rows, outputs)),
    )


def build_golden(model: GoldenModel, dev: Mapping[str, Path]) -> GoldenSet:
    """Golden rows for every task of `model` that `dev` has a file for."""
    rows = []
    for task, head in model.heads.items():
        if task not in dev:
            log.warning("no dev file: task has no golden rows", extra={"task": task})
            continue
        for row_id, request in golden_requests(head, Path(dev[task])):
            try:
                rows.append(golden_row(model, task, row_id, request))
            except InputTooLong:
                continue  # more windows than the bound: not a golden row
    if not rows:
        raise BundleError(f"{model.bundle_dir}: no golden rows (dev files for: {sorted(dev)})")
    manifest = model.manifest
    return GoldenSet(
        provider=model.provider,
        precision=manifest.precision,
        settings={name: task_settings(info) for name, info in manifest.tasks.items()},
        tolerances=default_tolerances(manifest.precision),
        rows=tuple(rows),
    )


def write_golden(bundle_dir: Path, golden: GoldenSet) -> Path:
    path = bundle_dir / GOLDEN_FILE
    path.write_text(golden.model_dump_json() + "\n")
    return path


def add_golden(
    bundle_dir: Path, dev: Mapping[str, Path], options: SessionOptions | None = None
) -> GoldenSet:
    """Compute and write a bundle's golden rows with its own graph; re-hash its manifest."""
    runtime = Runtime.load(bundle_dir, options or SessionOptions())
    golden = build_golden(runtime, dev)
    write_golden(bundle_dir, golden)
    # Re-read right before writing: what changed meanwhile is kept (and checked by the rows).
    write_manifest(bundle_dir, load_manifest(bundle_dir, verify=False))
    return golden


def _probe(output: RowOutput, head: Head, length: int) -> Probe:
    def rounded(values: np.ndarray) -> tuple[float, ...]:
        return tuple(round(float(v), DECIMALS) for v in values)

    token = head.spec.token_outputs
    if not token:
        return Probe(whole={name: rounded(output[name]) for name in head.spec.outputs})
    picked = {0, *range(0, length, max(1, length // PROBES))}
    picked |= {int(np.argmax(output[name])) for name in token}
    positions = tuple(sorted(picked))
    return Probe(
        positions=positions, at={name: rounded(output[name][list(positions)]) for name in token}
    )


def _margin(
    head: Head, request: Any, response: Schema, rows: list[Row], outputs: list[RowOutput]
) -> float:
    """How far the row's decision is from flipping, in one logit's worst-case drift."""
    kind = head.spec.kind
    if kind is TaskKind.CLASSIFICATION:
        (name,) = head.spec.outputs
        gaps = [np.diff(np.sort(out[name])[-2:])[0] for out in outputs]
        return float(min(gaps)) / COMPARED_LOGITS[kind]
    info = getattr(head, "info", None)
    if not isinstance(info, SpanTaskInfo) or isinstance(info, ClassificationTaskInfo):
        raise BundleError(f"{head.spec.name}: a span head without its task info")
    start, end = head.spec.outputs
    decoded = decode_answers(
        [r for r in rows if isinstance(r, QAWindow)],
        [o[start] for o in outputs],
        [o[end] for o in outputs],
        request.context,
        top_k=2,
        max_answer_len=info.max_answer_len,
        allow_no_answer=False,
    )
    gap = abs(decoded.null_logit - decoded.best_span_logit - info.null_threshold)
    spans = [a.logit for a in decoded.answers]
    if getattr(response, "answer", "") != "" and len(spans) > 1:
        gap = min(gap, spans[0] - spans[1])
    return float(gap) / COMPARED_LOGITS[kind]
