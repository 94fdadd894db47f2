"""NLI pair encoding (refuse or truncate) and label probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer

from road.core.errors import InputTooLong
from road.core.nli import NLIEncoder, label_probabilities, predicted_label
from road.core.tokenizer import load_tokenizer
from road.training.init import minilm_dir

CLS, SEP = 101, 102
PREMISE = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
HYPOTHESIS = "alpha beta gamma delta epsilon"


@pytest.fixture(scope="module")
def plain() -> Tokenizer:
    return load_tokenizer(minilm_dir())


def ids(tokenizer: Tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False).ids


def test_short_pair_is_cls_premise_sep_hypothesis_sep(plain: Tokenizer) -> None:
    row = NLIEncoder.from_file(minilm_dir(), 128).encode(["A man plays."], ["Music."])[0]
    p, h = ids(plain, "A man plays."), ids(plain, "Music.")
    assert row.input_ids.tolist() == [CLS, *p, SEP, *h, SEP]
    assert row.token_type_ids.tolist() == [0] * (len(p) + 2) + [1] * (len(h) + 1)
    assert row.input_ids.dtype == np.int64 and row.token_type_ids.dtype == np.int64


def test_over_long_pair_is_refused_without_truncate(plain: Tokenizer) -> None:
    encoder = NLIEncoder.from_file(minilm_dir(), 16)
    full = len(ids(plain, PREMISE)) + len(ids(plain, HYPOTHESIS)) + 3
    assert full == 23
    with pytest.raises(InputTooLong) as info:
        encoder.encode(["short", PREMISE], ["pair", HYPOTHESIS])
    assert (info.value.field, info.value.limit, info.value.actual) == ("premise+hypothesis", 16, 23)
    assert "23 tokens" in str(info.value)
    # A pair of exactly max_seq_len tokens is accepted.
    assert len(NLIEncoder.from_file(minilm_dir(), 23).encode([PREMISE], [HYPOTHESIS])[0]) == 23


def test_longest_first_truncation_cuts_the_longer_side(plain: Tokenizer) -> None:
    p, h = ids(plain, PREMISE), ids(plain, HYPOTHESIS)
    assert (len(p), len(h)) == (15, 5)
    row = NLIEncoder.from_file(minilm_dir(), 16).encode([PREMISE], [HYPOTHESIS], truncate=True)[0]
    # Budget 16 - 3 = 13 tokens: the hypothesis (5) is shorter than the premise, so only the
    # premise is cut, to 8 tokens.
    assert row.input_ids.tolist() == [CLS, *p[:8], SEP, *h, SEP]
    assert row.token_type_ids.tolist() == [0] * 10 + [1] * 6
    # Without ties, the same result as the tokenizers library's own longest-first strategy.
    reference_tokenizer = load_tokenizer(minilm_dir())
    reference_tokenizer.enable_truncation(16, strategy="longest_first")
    reference = reference_tokenizer.encode(PREMISE, HYPOTHESIS)
    assert row.input_ids.tolist() == reference.ids
    assert row.token_type_ids.tolist() == reference.type_ids


def test_longest_first_truncation_balances_two_long_sides(plain: Tokenizer) -> None:
    hypothesis = "alpha beta gamma delta epsilon zeta eta theta kappa lambda mu nu xi omega"
    p, h = ids(plain, PREMISE), ids(plain, hypothesis)
    assert (len(p), len(h)) == (15, 14)
    row = NLIEncoder.from_file(minilm_dir(), 16).encode([PREMISE], [hypothesis], truncate=True)[0]
    # 15 + 14 -> 13: cut the longer side until equal, then alternate, premise first on ties
    # (the tokenizers library cuts the hypothesis first on ties, and would keep 7 + 6).
    assert row.input_ids.tolist() == [CLS, *p[:6], SEP, *h[:7], SEP]
    assert row.token_type_ids.tolist() == [0] * 8 + [1] * 8


def test_truncation_leaves_fitting_pairs_alone(plain: Tokenizer) -> None:
    encoder = NLIEncoder.from_file(minilm_dir(), 64)
    truncated = encoder.encode([PREMISE], [HYPOTHESIS], truncate=True)[0]
    untouched = encoder.encode([PREMISE], [HYPOTHESIS])[0]
    assert truncated.input_ids.tolist() == untouched.input_ids.tolist()


def test_label_probabilities() -> None:
    logits = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]], dtype=np.float32)
    rows = label_probabilities(logits)
    assert [list(r) for r in rows] == [["entailment", "neutral", "contradiction"]] * 3
    for r in rows:
        assert sum(r.values()) == pytest.approx(1.0, abs=1e-6)
    assert rows[0]["neutral"] == pytest.approx(1 / 3)
    z = np.exp([1.0, 2.0, 3.0]).sum()
    assert rows[1]["contradiction"] == pytest.approx(np.exp(3.0) / z, rel=1e-6)
    assert rows[1]["entailment"] == pytest.approx(np.exp(1.0) / z, rel=1e-6)
    assert rows[2]["entailment"] == pytest.approx(1.0)  # no overflow on large logits
    assert [predicted_label(r) for r in rows[1:]] == ["contradiction", "entailment"]
