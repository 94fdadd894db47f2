"""Per-kind task heads: input limits, encoding and output decoding of one task's requests.

`load_heads` builds one head per task the bundle lists; the server, `road score` and warm-up
loop over them. Everything here is synchronous numpy work on one request's rows, so callers
decide where it runs (worker threads in the server, the job's own loop in `road score`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from road.core.bundle import ClassificationTaskInfo, Manifest, SpanTaskInfo, spec_of
from road.core.classification import TextEncoder, label_probabilities, predicted_label
from road.core.errors import BundleError, InputTooLong
from road.core.qa import QAEncoder, QAWindow
from road.core.qa_decode import decode_answers
from road.core.rows import Row, RowOutput
from road.core.tasks import TaskSpec
from road.core.windows import PairWindower, TextWindow, aggregate
from road.runtime.protocol import (
    Answer,
    Evidence,
    QARequest,
    QAResponse,
    Schema,
    task_schemas,
)

__all__ = ["ClassificationHead", "Head", "RowOutput", "SpanHead", "load_heads"]


class CharLimits(Protocol):
    """The input limits a head checks (ModelSettings and the scorer's limits have them)."""

    max_question_chars: int
    max_context_chars: int
    max_nli_chars: int
    max_nli_windows: int


class Head(Protocol):
    """One task of the bundle: its schemas, limits, rows and answers."""

    @property
    def spec(self) -> TaskSpec: ...
    @property
    def request(self) -> type[Schema]: ...
    @property
    def response(self) -> type[Schema]: ...

    def check(self, item: Any, limits: CharLimits) -> None: ...
    def encode(self, items: Sequence[Any], limits: CharLimits) -> list[list[Row]]: ...
    def decode(
        self, items: Sequence[Any], rows: Sequence[Sequence[Row]], outputs: Sequence[RowOutput]
    ) -> list[Any]: ...
    def example(self) -> Schema: ...


def check_chars(field: str, text: str, limit: int) -> None:
    """Refuse text longer than `limit` characters, naming the field."""
    if len(text) > limit:
        raise InputTooLong(field, limit, len(text), unit="characters")


def _per_item(outputs: Sequence[RowOutput], rows: Sequence[Sequence[Row]]) -> list[list[RowOutput]]:
    """The flat outputs cut back into each item's rows."""
    cut, cursor = [], 0
    for item_rows in rows:
        cut.append(list(outputs[cursor : cursor + len(item_rows)]))
        cursor += len(item_rows)
    return cut


@dataclass(frozen=True)
class SpanHead:
    """A span-extraction task: windows in, the best span (or no answer) out."""

    spec: TaskSpec
    info: SpanTaskInfo
    encoder: QAEncoder
    request: type[Schema] = QARequest
    response: type[Schema] = QAResponse

    def check(self, item: QARequest, limits: CharLimits) -> None:
        check_chars("question", item.question, limits.max_question_chars)
        check_chars("context", item.context, limits.max_context_chars)

    def encode(self, items: Sequence[QARequest], limits: CharLimits) -> list[list[Row]]:
        windows = self.encoder.encode([i.question for i in items], [i.context for i in items])
        return [list(w) for w in windows]

    def decode(
        self,
        items: Sequence[QARequest],
        rows: Sequence[Sequence[Row]],
        outputs: Sequence[RowOutput],
    ) -> list[QAResponse]:
        return [
            span_response(item, windows, mine, self.info)
            for item, windows, mine in zip(items, rows, _per_item(outputs, rows))
        ]

    def example(self) -> QARequest:
        # Long enough for several windows: warm-up runs the long shapes too.
        return QARequest(
            question="Who wrote the report?",
            context="The report was written by the committee in 2020. " * 40,
        )


def span_response(
    item: QARequest, windows: Sequence[QAWindow], outputs: Sequence[RowOutput], info: SpanTaskInfo
) -> QAResponse:
    """Decode one question's answer from the outputs of all of its windows."""
    start, end = info.outputs
    decoded = decode_answers(
        list(windows),
        [o[start] for o in outputs],
        [o[end] for o in outputs],
        item.context,
        top_k=item.top_k,
        max_answer_len=item.max_answer_len or info.max_answer_len,
        null_threshold=info.null_threshold if item.null_threshold is None else item.null_threshold,
        allow_no_answer=item.allow_no_answer,
    )
    answers = [
        Answer(answer=a.text, start=a.start, end=a.end, score=a.score) for a in decoded.answers
    ]
    if not answers:
        # No context token at all (e.g. a whitespace-only context) and no-answer not allowed.
        answers = [Answer(answer="", start=0, end=0, score=0.0)]
    best, abstained = answers[0], None
    if item.min_score is not None and best.answer and best.score < item.min_score:
        # Abstaining is answering "no answer"; the score says how far below the floor it was.
        best, abstained = Answer(answer="", start=0, end=0, score=best.score), True
    ranked = answers if item.top_k > 1 else None
    return QAResponse(**best.model_dump(), answers=ranked, abstained=abstained)


def abstain(label: str, scores: dict[str, float], min_score: float | None) -> dict[str, Any]:
    """A classification answer's `label` (None under `min_score`) and `abstained` fields."""
    if min_score is not None and scores[label] < min_score:
        return {"label": None, "abstained": True}
    return {"label": label}


@dataclass(frozen=True, slots=True)
class TruncatedRow(Row):
    """A pair cut longest-first to fit one row (`truncation: longest_first`)."""


@dataclass(frozen=True)
class ClassificationHead:
    """A classification task: one text or a pair in, a label and its probabilities out.

    A pair over `max_seq_len` tokens is windowed on its first text (`truncation: windows`, the
    default; `road.core.windows`), truncated (`longest_first`) or refused (`none`).
    """

    spec: TaskSpec
    info: ClassificationTaskInfo
    encoder: TextEncoder
    request: type[Schema]
    response: type[Schema]

    def check(self, item: Schema, limits: CharLimits) -> None:
        for field in self.spec.fields:
            check_chars(field, getattr(item, field), limits.max_nli_chars)

    def encode(self, items: Sequence[Schema], limits: CharLimits) -> list[list[Row]]:
        texts = [tuple(getattr(i, field) for field in self.spec.fields) for i in items]
        try:
            return [[row] for row in self.encoder.encode_texts(texts)]
        except InputTooLong:
            # Some pair does not fit one row: encode item by item to treat only those.
            return [self._rows(i, t, limits) for i, t in zip(items, texts)]

    def _rows(self, item: Schema, texts: tuple[str, ...], limits: CharLimits) -> list[Row]:
        mode = getattr(item, "truncation", "none")
        try:
            return list(self.encoder.encode_texts([texts]))
        except InputTooLong:
            if mode == "longest_first":
                (row,) = self.encoder.encode_texts([texts], truncate=True)
                return [TruncatedRow(row.input_ids, row.token_type_ids)]
            if mode != "windows" or len(texts) != 2:
                raise
        first, second = self.spec.fields
        windower = PairWindower(self.encoder.tokenizer, self.encoder.max_seq_len, (first, second))
        return list(windower.windows(texts[0], texts[1], limits.max_nli_windows))

    def decode(
        self, items: Sequence[Schema], rows: Sequence[Sequence[Row]], outputs: Sequence[RowOutput]
    ) -> list[Schema]:
        return [
            self._answer(item, item_rows, mine)
            for item, item_rows, mine in zip(items, rows, _per_item(outputs, rows))
        ]

    def _answer(self, item: Schema, rows: Sequence[Row], outputs: Sequence[RowOutput]) -> Schema:
        (name,) = self.spec.outputs
        logits = np.stack([o[name] for o in outputs]) / np.float32(self.info.temperature)
        min_score = getattr(item, "min_score", None)
        if not isinstance(rows[0], TextWindow):
            (scores,) = label_probabilities(logits, self.spec.labels)
            extra = {"truncated": True} if isinstance(rows[0], TruncatedRow) else {}
            label = abstain(predicted_label(scores), scores, min_score)
            return self.response(scores=scores, **label, **extra)
        verdict = aggregate(logits, self.spec.labels)
        window = rows[verdict.window]
        assert isinstance(window, TextWindow)
        first = getattr(item, self.spec.fields[0])
        evidence = Evidence(
            start=window.start, end=window.end, text=first[window.start : window.end]
        )
        label = abstain(verdict.label, verdict.scores, min_score)
        return self.response(scores=verdict.scores, evidence=evidence, **label)

    def example(self) -> Schema:
        texts = ("A man is playing a guitar.", "A person plays music.")
        return self.request(**dict(zip(self.spec.fields, texts)))


def load_heads(bundle_dir: Path, manifest: Manifest) -> dict[str, Head]:
    """One head per task of the bundle, in manifest order; `BundleError` when it has none."""
    heads: dict[str, Head] = {}
    for name, info in manifest.tasks.items():
        spec = spec_of(name, info)
        if isinstance(info, SpanTaskInfo):
            encoder = QAEncoder.from_window(bundle_dir, info.window)
            heads[name] = SpanHead(spec, info, encoder)
        else:
            request, response = task_schemas(spec)
            text = TextEncoder.from_file(bundle_dir, info.max_seq_len, info.fields)
            heads[name] = ClassificationHead(spec, info, text, request, response)
    if not heads:
        raise BundleError(f"{bundle_dir}: the bundle lists no task")
    return heads
