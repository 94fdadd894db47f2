"""Span decoding on real MiniLM tokenizer windows with hand-set logits."""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np
import pytest

from road.core.qa import QAEncoder, QAWindow, answer_token_span
from road.core.qa_decode import decode_answers
from road.training.init import minilm_dir

QUESTION = "Where do the rivers meet?"
CONTEXT = (
    "Lyon is the third-largest city of France. It is located at the confluence of the rivers "
    "Rhône and Saône. The city was founded by the Romans in 43 BC. Its old town is a world "
    "heritage site, and its silk weavers were famous across Europe for centuries."
)
SHORT = (
    "Lyon is the third-largest city of France. It is located at the confluence of the rivers "
    "Rhône and Saône."
)
FILL, NULL_OFF = -10.0, -20.0


@cache
def encoder(max_seq_len: int = 32, doc_stride: int = 8, max_question_tokens: int = 8) -> QAEncoder:
    return QAEncoder.from_file(minilm_dir(), max_seq_len, doc_stride, max_question_tokens)


def blank_logits(
    windows: list[QAWindow], fill: float = FILL, cls: float = NULL_OFF / 2
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    starts = [np.full(len(w), fill, dtype=np.float32) for w in windows]
    ends = [np.full(len(w), fill, dtype=np.float32) for w in windows]
    for s, e in zip(starts, ends, strict=True):
        s[0] = e[0] = cls
    return starts, ends


def span_tokens(window: QAWindow, context: str, text: str) -> tuple[int, int]:
    start = context.index(text)
    first, last = answer_token_span(window, start, start + len(text))
    assert (first, last) != (0, 0), f"{text!r} is not inside this window"
    return first, last


def test_answer_only_in_a_later_window_is_found() -> None:
    context = CONTEXT + " The password of the old town is Zanzibar."
    windows = encoder().encode(["What is the password?"], [context])[0]
    answer = "Zanzibar"
    char_start = context.index(answer)
    holders = [
        k
        for k, w in enumerate(windows)
        if answer_token_span(w, char_start, char_start + len(answer)) != (0, 0)
    ]
    assert len(windows) >= 3 and holders and holders[0] > 0
    k = holders[0]
    first, last = span_tokens(windows[k], context, answer)
    assert last > first  # zan ##zi ##bar: a multi-token span
    starts, ends = blank_logits(windows, cls=0.0)
    starts[k][first], ends[k][last] = 10.0, 10.0

    decoded = decode_answers(windows, starts, ends, context)
    best = decoded.answers[0]
    assert (best.text, best.start, best.end) == (answer, char_start, char_start + len(answer))
    assert context[best.start : best.end] == answer
    assert decoded.best_span_logit == 20.0
    assert decoded.null_logit == 0.0


def test_no_answer_when_null_beats_spans_by_more_than_threshold() -> None:
    windows = encoder(64, 16, 16).encode(["Which rivers?"], [SHORT])[0]
    assert len(windows) == 1
    starts, ends = blank_logits(windows, cls=5.0)  # null = 5 + 5 = 10
    first, last = span_tokens(windows[0], SHORT, "Rhône and Saône")
    starts[0][first], ends[0][last] = 1.0, 1.0  # best span = 2, margin = 8

    assert SHORT[88:103] == "Rhône and Saône"
    decoded = decode_answers(windows, starts, ends, SHORT, top_k=2)
    assert (decoded.null_logit, decoded.best_span_logit) == (10.0, 2.0)
    assert [(a.text, a.start, a.end) for a in decoded.answers] == [
        ("", 0, 0),
        ("Rhône and Saône", 88, 103),
    ]
    assert decoded.answers[0].logit == 10.0

    assert decode_answers(windows, starts, ends, SHORT, null_threshold=7.9).answers[0].text == ""
    # A margin of exactly the threshold is not "more than" it: the span is answered.
    assert (
        decode_answers(windows, starts, ends, SHORT, null_threshold=8.0).answers[0].text
        == "Rhône and Saône"
    )

    forced = decode_answers(windows, starts, ends, SHORT, allow_no_answer=False, top_k=1000)
    assert forced.answers[0].text == "Rhône and Saône"
    assert all(a.text for a in forced.answers)


def test_null_logit_is_the_lowest_cls_score_over_windows() -> None:
    windows = encoder().encode([QUESTION], [CONTEXT])[0]
    starts, ends = blank_logits(windows)
    for k, (s, e) in enumerate([(5.0, 5.0), (1.0, 1.0), (3.0, 3.0), (4.0, 4.0)][: len(windows)]):
        starts[k][0], ends[k][0] = s, e
    assert decode_answers(windows, starts, ends, CONTEXT).null_logit == 2.0


def test_max_answer_len_excludes_long_spans() -> None:
    windows = encoder(64, 16, 16).encode(["Where is it?"], [SHORT])[0]
    starts, ends = blank_logits(windows)
    first, _ = span_tokens(windows[0], SHORT, "located")
    _, long_end = span_tokens(windows[0], SHORT, "confluence")
    _, short_end = span_tokens(windows[0], SHORT, "located at")
    assert long_end - first + 1 == 4
    starts[0][first], ends[0][long_end], ends[0][short_end] = 10.0, 10.0, 6.0

    assert (
        decode_answers(windows, starts, ends, SHORT, max_answer_len=4).answers[0].text
        == "located at the confluence"
    )
    assert (
        decode_answers(windows, starts, ends, SHORT, max_answer_len=3).answers[0].text
        == "located at"
    )
    single = decode_answers(
        windows, starts, ends, SHORT, max_answer_len=1, allow_no_answer=False, top_k=1000
    )
    for answer in single.answers:  # only one-token spans survive
        assert len(encoder().tokenizer.encode(answer.text, add_special_tokens=False).ids) == 1


def _fold(text: str) -> str:
    """What the uncased BERT normaliser does to a piece of text: lower-case, strip accents."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


@pytest.mark.parametrize("max_seq_len", [32, 128])
def test_offsets_round_trip_to_the_original_text(max_seq_len: int) -> None:
    context = (
        "Lyon  lies where the  Rhône\tmeets the Saône.\n\n"
        "Café owners, naïve or not, say “bonjour” at 7:30 — always.  "
    )
    enc = encoder(max_seq_len, 8, 8)
    windows = enc.encode(["Où est Lyon ?"], [context])[0]
    covered: set[int] = set()
    for window in windows:
        mask = window.context_mask()
        assert mask.sum() > 0
        for position in np.flatnonzero(mask):
            begin, end = map(int, window.offsets[position])
            token = enc.tokenizer.id_to_token(int(window.input_ids[position]))
            assert token != "[UNK]"
            assert _fold(context[begin:end]) == token.removeprefix("##"), (
                context[begin:end],
                token,
            )
            covered.update(range(begin, end))
    assert covered == {i for i, ch in enumerate(context) if not ch.isspace()}
    if max_seq_len == 32:
        assert len(windows) > 1


def test_spans_never_include_question_tokens() -> None:
    windows = encoder(64, 16, 16).encode(["Which rivers meet in Lyon?"], [SHORT])[0]
    window = windows[0]
    starts, ends = blank_logits(windows, fill=-5.0, cls=-50.0)
    question = np.flatnonzero(window.token_type_ids == 0)[1:]  # question tokens and the first [SEP]
    starts[0][question] = ends[0][question] = 100.0
    ends[0][-1] = 100.0  # the final [SEP]
    first, last = span_tokens(window, SHORT, "Rhône and Saône")
    starts[0][first], ends[0][last] = 1.0, 1.0

    decoded = decode_answers(windows, starts, ends, SHORT, allow_no_answer=False, top_k=1000)
    assert decoded.answers[0].text == "Rhône and Saône"
    assert decoded.best_span_logit == 2.0
    context_starts = set(window.offsets[window.context_mask(), 0].tolist())
    context_ends = set(window.offsets[window.context_mask(), 1].tolist())
    for answer in decoded.answers:
        assert answer.start in context_starts and answer.end in context_ends
        assert answer.logit <= 2.0


def _per_window_softmax_choice(
    windows: list[QAWindow],
    starts: list[np.ndarray],
    ends: list[np.ndarray],
    context: str,
    max_answer_len: int = 30,
) -> str:
    """What a decoder comparing windows on per-window probabilities would answer."""
    best, best_text = -1.0, ""
    for window, s, e in zip(windows, starts, ends, strict=True):
        ps, pe = np.exp(s - s.max()), np.exp(e - e.max())
        ps, pe = ps / ps.sum(), pe / pe.sum()
        positions = np.flatnonzero(window.context_mask())
        for i in positions:
            for j in positions:
                if i <= j < i + max_answer_len and ps[i] * pe[j] > best:
                    best = ps[i] * pe[j]
                    best_text = context[window.offsets[i, 0] : window.offsets[j, 1]]
    return best_text


def test_windows_are_compared_on_raw_logits_not_per_window_probabilities() -> None:
    windows = encoder().encode([QUESTION], [CONTEXT])[0]
    first_w, last_w = windows[0], windows[-1]
    starts, ends = blank_logits(windows)
    # Window 0: a flat field of 4s with "Lyon" at 5 + 5 = 10, so its softmax is diffuse.
    starts[0][first_w.context_mask()] = ends[0][first_w.context_mask()] = 4.0
    first, last = span_tokens(first_w, CONTEXT, "Lyon")
    starts[0][first], ends[0][last] = 5.0, 5.0
    # Last window: "silk weavers" at 4 + 4 = 8, everything else far below: a peaked softmax.
    first, last = span_tokens(last_w, CONTEXT, "silk weavers")
    starts[-1][first], ends[-1][last] = 4.0, 4.0

    assert _per_window_softmax_choice(windows, starts, ends, CONTEXT) == "silk weavers"
    decoded = decode_answers(windows, starts, ends, CONTEXT, top_k=2)
    assert decoded.answers[0].text == "Lyon"
    assert decoded.answers[0].logit == 10.0
    assert decoded.best_span_logit == 10.0


def test_top_k_answers_are_ranked_by_logit() -> None:
    windows = encoder(64, 16, 16).encode(["What?"], [SHORT])[0]
    window = windows[0]
    starts, ends = blank_logits(windows)
    # Far-apart spans, so with max_answer_len=3 no start of one pairs with the end of another.
    for text, (s, e) in {"Saône": (4.5, 4.5), "Lyon": (3.0, 4.0), "France": (2.0, 3.0)}.items():
        first, last = span_tokens(window, SHORT, text)
        starts[0][first], ends[0][last] = s, e

    decoded = decode_answers(windows, starts, ends, SHORT, top_k=3, max_answer_len=3)
    assert [a.text for a in decoded.answers] == ["Saône", "Lyon", "France"]
    assert [a.logit for a in decoded.answers] == [9.0, 7.0, 5.0]
    assert [a.start for a in decoded.answers] == [SHORT.index("Saône"), 0, SHORT.index("France")]
    scores = [a.score for a in decoded.answers]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(np.exp(9) / (np.exp(9) + np.exp(7) + np.exp(5)), rel=1e-3)
    assert len(decode_answers(windows, starts, ends, SHORT, top_k=1).answers) == 1


def loop_decoder(windows, start_logits, end_logits, context, top_k, max_answer_len, null_threshold):
    """The obvious per-pair loop the vectorised decoder must agree with (the original one)."""
    null_logit = min(float(s[0] + e[0]) for s, e in zip(start_logits, end_logits))
    spans: dict[tuple[int, int], float] = {}
    for window, starts, ends in zip(windows, start_logits, end_logits):
        positions = np.flatnonzero(window.context_mask())
        top_s = positions[np.argsort(starts[positions])[::-1][:20]]
        top_e = positions[np.argsort(ends[positions])[::-1][:20]]
        for s in top_s:
            for e in top_e:
                if s <= e < s + max_answer_len:
                    key = (int(window.offsets[s, 0]), int(window.offsets[e, 1]))
                    spans[key] = max(spans.get(key, -np.inf), float(starts[s] + ends[e]))
    ranked = sorted(spans.items(), key=lambda item: item[1], reverse=True)
    logits = np.asarray([logit for _, logit in ranked] + [null_logit])
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    answers = [(context[b:e], b, e, p) for ((b, e), _), p in zip(ranked, probs)]
    null = ("", 0, 0, probs[-1])
    predict_null = not ranked or null_logit - ranked[0][1] > null_threshold
    return ([null, *answers] if predict_null else [*answers, null])[:top_k]


@pytest.mark.parametrize("seed", range(6))
def test_decoding_matches_the_per_pair_loop_on_random_logits(seed: int) -> None:
    # Windows overlap (stride 8 of 32), so one character span is scored in several windows and
    # must keep its best logit; coarse logits make ties that must keep first-seen order.
    rng = np.random.default_rng(seed)
    windows = encoder(32, 8, 8).encode([QUESTION], [CONTEXT])[0]
    assert len(windows) >= 4
    starts = [rng.integers(-4, 4, len(w)).astype(np.float32) for w in windows]
    ends = [rng.integers(-4, 4, len(w)).astype(np.float32) for w in windows]
    threshold = float(rng.choice([-3.0, 0.0, 3.0]))
    for top_k in (1, 5, 400):
        got = decode_answers(
            windows, starts, ends, CONTEXT, top_k=top_k, max_answer_len=6,
            null_threshold=threshold,
        )  # fmt: skip
        want = loop_decoder(windows, starts, ends, CONTEXT, top_k, 6, threshold)
        assert [(a.text, a.start, a.end) for a in got.answers] == [w[:3] for w in want]
        assert [a.score for a in got.answers] == pytest.approx([w[3] for w in want], rel=1e-9)
