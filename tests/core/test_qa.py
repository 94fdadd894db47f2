"""QA windowing with the real MiniLM (BERT uncased) tokenizer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from road.core.errors import InputTooLong
from road.core.qa import NOT_CONTEXT, QAEncoder, QAWindow, answer_token_span
from road.core.tokenizer import load_tokenizer
from road.training.init import minilm_dir

CLS, SEP = 101, 102
MAX_SEQ_LEN, DOC_STRIDE, MAX_QUESTION = 32, 8, 8
QUESTION = "Where do the rivers meet?"
CONTEXT = (
    "Lyon is the third-largest city of France. It is located at the confluence of the rivers "
    "Rhône and Saône. The city was founded by the Romans in 43 BC. Its old town is a world "
    "heritage site, and its silk weavers were famous across Europe for centuries."
)


@pytest.fixture(scope="module")
def encoder() -> QAEncoder:
    return QAEncoder.from_file(minilm_dir(), MAX_SEQ_LEN, DOC_STRIDE, MAX_QUESTION)


def n_tokens(text: str) -> int:
    return len(load_tokenizer(minilm_dir()).encode(text, add_special_tokens=False).ids)


def context_offsets(window: QAWindow) -> list[tuple[int, int]]:
    return [(int(b), int(e)) for b, e in window.offsets[window.context_mask()]]


def test_number_of_windows_and_layout(encoder: QAEncoder) -> None:
    n_question, n_context = n_tokens(QUESTION), n_tokens(CONTEXT)
    capacity = MAX_SEQ_LEN - n_question - 3  # [CLS] question [SEP] context [SEP]
    expected = 1 + math.ceil((n_context - capacity) / (capacity - DOC_STRIDE))
    assert (n_question, n_context, capacity) == (6, 56, 23)
    assert expected == 4

    windows = encoder.encode([QUESTION], [CONTEXT])[0]
    assert len(windows) == expected
    for window in windows:
        ids, types = window.input_ids.tolist(), window.token_type_ids.tolist()
        assert len(ids) <= MAX_SEQ_LEN
        assert ids[0] == CLS and ids[n_question + 1] == SEP and ids[-1] == SEP
        assert types == [0] * (n_question + 2) + [1] * (len(ids) - n_question - 2)
        # Only context tokens carry offsets: not CLS, the question, or either SEP.
        assert window.context_mask().tolist() == [False] * (n_question + 2) + [True] * (
            len(ids) - n_question - 3
        ) + [False]
    assert all(len(w) == MAX_SEQ_LEN for w in windows[:-1])


def test_consecutive_windows_share_doc_stride_tokens(encoder: QAEncoder) -> None:
    windows = encoder.encode([QUESTION], [CONTEXT])[0]
    plain = load_tokenizer(minilm_dir())
    full = [tuple(o) for o in plain.encode(CONTEXT, add_special_tokens=False).offsets]
    for before, after in zip(windows, windows[1:], strict=False):
        a, b = context_offsets(before), context_offsets(after)
        assert a[-DOC_STRIDE:] == b[:DOC_STRIDE]
        assert a[-DOC_STRIDE - 1] != b[0]  # exactly doc_stride, not more
    # Together the windows cover every context token, in order, once the overlaps are removed.
    stitched = context_offsets(windows[0])
    for window in windows[1:]:
        stitched += context_offsets(window)[DOC_STRIDE:]
    assert stitched == full


def test_answer_token_span_inside_window(encoder: QAEncoder) -> None:
    window = encoder.encode([QUESTION], [CONTEXT])[0][0]
    start = CONTEXT.index("Rhône and Saône")
    first, last = answer_token_span(window, start, start + len("Rhône and Saône"))
    assert (first, last) != (0, 0)
    assert CONTEXT[window.offsets[first, 0] : window.offsets[last, 1]] == "Rhône and Saône"


def test_answer_token_span_is_null_when_answer_not_fully_inside(encoder: QAEncoder) -> None:
    windows = encoder.encode([QUESTION], [CONTEXT])[0]
    first_window, last_window = windows[0], windows[-1]
    window_end = int(first_window.offsets[first_window.context_mask()][-1, 1])
    # An answer straddling the end of the first window: its first tokens are inside, not all.
    straddling = (window_end - 3, window_end + 10)
    assert answer_token_span(first_window, *straddling) == (0, 0)
    # An answer beyond the window entirely, and one before a later window starts.
    late = CONTEXT.index("silk weavers")
    assert answer_token_span(first_window, late, late + len("silk weavers")) == (0, 0)
    assert answer_token_span(last_window, 0, len("Lyon")) == (0, 0)
    first, last = answer_token_span(last_window, late, late + len("silk weavers"))
    assert CONTEXT[last_window.offsets[first, 0] : last_window.offsets[last, 1]] == "silk weavers"
    # No answer at all.
    assert answer_token_span(first_window, 5, 5) == (0, 0)


def test_over_long_question_raises(encoder: QAEncoder) -> None:
    question = "Which of the many rivers that flow through France meet at Lyon today?"
    n = n_tokens(question)
    assert n > MAX_QUESTION
    with pytest.raises(InputTooLong) as info:
        encoder.encode([QUESTION, question], [CONTEXT, CONTEXT])
    assert (info.value.field, info.value.limit, info.value.actual) == ("question", MAX_QUESTION, n)
    with pytest.raises(InputTooLong):
        encoder.check_questions([question])
    assert encoder.question_lengths([QUESTION, question]) == [6, n]


def test_question_longer_than_the_window_raises_input_too_long(encoder: QAEncoder) -> None:
    # Longer than max_seq_len itself: must still be measured and refused, not crash the tokenizer.
    question = " ".join(["river"] * (MAX_SEQ_LEN + 10))
    with pytest.raises(InputTooLong) as info:
        encoder.encode([question], [CONTEXT])
    assert info.value.actual == MAX_SEQ_LEN + 10
    assert encoder.question_lengths([question]) == [MAX_SEQ_LEN + 10]


def test_window_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="max_seq_len"):
        QAEncoder.from_file(minilm_dir(), max_seq_len=32, doc_stride=21, max_question_tokens=8)


def test_short_context_is_one_window(encoder: QAEncoder) -> None:
    windows = encoder.encode(["Who?"], ["Lyon."])[0]
    assert len(windows) == 1
    assert context_offsets(windows[0]) == [(0, 4), (4, 5)]
    assert np.all(windows[0].offsets[~windows[0].context_mask()] == NOT_CONTEXT)
