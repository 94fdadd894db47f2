"""The span-extraction kind's pre-processing: question/context pairs into overlapping windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from road.core.errors import InputTooLong
from road.core.rows import Row
from road.core.tokenizer import load_tokenizer

NOT_CONTEXT = -1


@dataclass(frozen=True, slots=True)
class QAWindow(Row):
    """A window of one context, with character offsets of its context tokens.

    `offsets[i]` is the `[start, end)` character span of token i in the original context, or
    `(-1, -1)` for question, special and padding tokens, so spans can never leave the context.
    """

    offsets: np.ndarray

    def context_mask(self) -> np.ndarray:
        return self.offsets[:, 0] != NOT_CONTEXT


@dataclass(frozen=True)
class Windowing:
    """How a context is cut into windows; training configs and bundle manifests both carry one."""

    max_seq_len: int
    doc_stride: int
    max_question_tokens: int = 64


@dataclass(frozen=True)
class QAEncoder:
    """Windows a (question, context) pair with `max_seq_len` tokens and `doc_stride` overlap.

    `doc_stride` follows the Hugging Face convention: the number of context tokens that two
    consecutive windows share.
    """

    tokenizer: Tokenizer
    max_seq_len: int
    doc_stride: int
    max_question_tokens: int

    @classmethod
    def from_file(
        cls, path: str | Path, max_seq_len: int, doc_stride: int, max_question_tokens: int = 64
    ) -> QAEncoder:
        if max_question_tokens + 3 + doc_stride >= max_seq_len:
            raise ValueError("max_seq_len must exceed max_question_tokens + doc_stride + 3")
        tokenizer = load_tokenizer(path)
        tokenizer.enable_truncation(max_seq_len, stride=doc_stride, strategy="only_second")
        return cls(tokenizer, max_seq_len, doc_stride, max_question_tokens)

    @classmethod
    def from_window(cls, path: str | Path, window: Windowing) -> QAEncoder:
        return cls.from_file(
            path, window.max_seq_len, window.doc_stride, window.max_question_tokens
        )

    @cached_property
    def _measuring_tokenizer(self) -> Tokenizer:
        """The tokenizer without truncation: any question can be measured, however long."""
        tokenizer = Tokenizer.from_str(self.tokenizer.to_str())
        tokenizer.no_truncation()
        return tokenizer

    def question_lengths(self, questions: Sequence[str]) -> list[int]:
        tokenizer = self._measuring_tokenizer
        encodings = tokenizer.encode_batch(list(questions), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def check_questions(self, questions: Sequence[str]) -> None:
        """Raise `InputTooLong` for a question that leaves too little room for its context."""
        for length in self.question_lengths(questions):
            if length > self.max_question_tokens:
                raise InputTooLong("question", self.max_question_tokens, length)

    def encode(self, questions: Sequence[str], contexts: Sequence[str]) -> list[list[QAWindow]]:
        """All windows of each pair; the caller must have checked the questions' lengths."""
        self.check_questions(questions)
        encodings = self.tokenizer.encode_batch(list(zip(questions, contexts)))
        return [[_window(e) for e in (main, *main.overflowing)] for main in encodings]


def _window(encoding: Encoding) -> QAWindow:
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    type_ids = np.asarray(encoding.type_ids, dtype=np.int64)
    special = np.asarray(encoding.special_tokens_mask, dtype=bool)
    in_context = (type_ids == 1) & ~special
    offsets[~in_context] = NOT_CONTEXT
    return QAWindow(
        input_ids=np.asarray(encoding.ids, dtype=np.int64),
        token_type_ids=type_ids,
        offsets=offsets,
    )


def answer_token_span(window: QAWindow, char_start: int, char_end: int) -> tuple[int, int]:
    """Token positions of a gold answer inside a window, or (0, 0), the null (CLS) position."""
    if char_end <= char_start:
        return 0, 0
    mask = window.context_mask()
    starts, ends = window.offsets[:, 0], window.offsets[:, 1]
    covered = mask & (ends > char_start) & (starts < char_end)
    positions = np.flatnonzero(covered)
    if positions.size == 0:
        return 0, 0
    first, last = int(positions[0]), int(positions[-1])
    context_positions = np.flatnonzero(mask)
    window_start = int(starts[context_positions[0]])
    window_end = int(ends[context_positions[-1]])
    if char_start < window_start or char_end > window_end:
        return 0, 0
    return first, last
