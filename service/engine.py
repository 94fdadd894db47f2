"""The request pipeline without HTTP: tokenize → batch → run → decode.

Tokenization and decoding run on worker threads so the event loop only routes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from road.core.errors import InputTooLong
from road.core.nli import label_probabilities, predicted_label
from road.core.qa import QAWindow
from road.core.qa_decode import decode_answers
from road.service.batcher import Batcher, RowOutput
from road.service.protocol import Answer, NLIRequest, NLIResponse, QARequest, QAResponse
from road.service.runtime import Runtime
from road.service.settings import ServerSettings

T = TypeVar("T")


class Engine:
    """Answers QA and NLI items through one shared batcher and session."""

    def __init__(self, runtime: Runtime, batcher: Batcher, settings: ServerSettings) -> None:
        self.runtime = runtime
        self.batcher = batcher
        self.settings = settings
        self._cpu = ThreadPoolExecutor(settings.tokenizer_threads, thread_name_prefix="road-cpu")

    def close(self) -> None:
        self._cpu.shutdown(wait=True)

    async def _offload(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._cpu, fn, *args)

    async def answer(self, items: Sequence[QARequest]) -> list[QAResponse]:
        for item in items:
            _check_chars("question", item.question, self.settings.max_question_chars)
            _check_chars("context", item.context, self.settings.max_context_chars)
        encoder = self.runtime.qa_encoder
        windows: list[list[QAWindow]] = await self._offload(
            encoder.encode, [i.question for i in items], [i.context for i in items]
        )
        flat = [w for per_item in windows for w in per_item]
        outputs = await self.batcher.submit(flat)
        return await self._offload(self._decode_all, items, windows, outputs)

    def _decode_all(
        self, items: Sequence[QARequest], windows: list[list[QAWindow]], outputs: list[RowOutput]
    ) -> list[QAResponse]:
        results, cursor = [], 0
        for item, item_windows in zip(items, windows):
            mine = outputs[cursor : cursor + len(item_windows)]
            cursor += len(item_windows)
            results.append(self._decode(item, item_windows, mine))
        return results

    def _decode(
        self, item: QARequest, windows: list[QAWindow], outputs: list[RowOutput]
    ) -> QAResponse:
        qa = self.runtime.qa
        decoded = decode_answers(
            windows,
            [o["start_logits"] for o in outputs],
            [o["end_logits"] for o in outputs],
            item.context,
            top_k=item.top_k,
            max_answer_len=item.max_answer_len or qa.max_answer_len,
            null_threshold=qa.null_threshold,
            allow_no_answer=item.allow_no_answer,
        )
        answers = [
            Answer(answer=a.text, start=a.start, end=a.end, score=a.score) for a in decoded.answers
        ]
        if not answers:
            # No context token at all (e.g. a whitespace-only context) and no-answer not allowed.
            answers = [Answer(answer="", start=0, end=0, score=0.0)]
        best = answers[0]
        return QAResponse(**best.model_dump(), answers=answers if item.top_k > 1 else None)

    async def classify(self, items: Sequence[NLIRequest]) -> list[NLIResponse]:
        for item in items:
            _check_chars("premise", item.premise, self.settings.max_nli_chars)
            _check_chars("hypothesis", item.hypothesis, self.settings.max_nli_chars)
        encoder = self.runtime.nli_encoder
        rows = await self._offload(
            encoder.encode, [i.premise for i in items], [i.hypothesis for i in items]
        )
        outputs = await self.batcher.submit(rows)
        logits = np.stack([o["nli_logits"] for o in outputs])
        scores = label_probabilities(logits)
        return [NLIResponse(label=predicted_label(s), scores=s) for s in scores]


def _check_chars(field: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise InputTooLong(field, limit, len(text), unit="characters")
