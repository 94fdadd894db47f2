"""Acceptance: a premise of about 2,000 tokens, its supporting sentence at the end, through /nli.

The supporting sentence is a real VitaminC dev premise the shipped student gets right alone
(vitaminc-922); the padding before it is unrelated real text (SQuADShifts dev contexts). The
server runs with the default bundle and its default limits.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from road.core.data import read_nli, read_squad
from road.core.tokenizer import load_tokenizer
from road.runtime.settings import default_bundle

from .server import running_server
from .workload import NLI_FILE, QA_FILE

pytestmark = pytest.mark.integration

SUPPORT_ID = "vitaminc-922"
PADDING_TOKENS = 1_950


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server(None) as url:
        yield url


@pytest.fixture(scope="module")
def long_pair() -> tuple[str, str, str]:
    """(premise, supporting sentence, hypothesis)."""
    if not (NLI_FILE.exists() and QA_FILE.exists()):
        pytest.skip("needs ../shared/data")
    support = next(e for e in read_nli(NLI_FILE) if e.id == SUPPORT_ID)
    tokenizer = load_tokenizer(default_bundle())
    padding, tokens = [], 0
    for context in dict.fromkeys(e.context for e in read_squad(QA_FILE)):
        padding.append(context)
        tokens += len(tokenizer.encode(context, add_special_tokens=False).ids)
        if tokens >= PADDING_TOKENS:
            break
    premise = " ".join([*padding, support.premise])
    return premise, support.premise, support.hypothesis


def test_a_2000_token_premise_entails_with_evidence_on_its_last_sentence(
    server: str, long_pair: tuple[str, str, str]
):
    premise, support, hypothesis = long_pair
    tokens = len(load_tokenizer(default_bundle()).encode(premise, add_special_tokens=False).ids)
    assert 1_950 <= tokens <= 2_300
    alone = httpx.post(f"{server}/nli", json={"premise": support, "hypothesis": hypothesis})
    assert alone.json()["label"] == "entailment"
    response = httpx.post(
        f"{server}/nli", json={"premise": premise, "hypothesis": hypothesis}, timeout=120
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["label"] == "entailment"
    evidence = body["evidence"]
    begin = premise.index(support)
    # The deciding window holds the whole supporting sentence, and it is one window, not all.
    assert evidence["start"] <= begin and evidence["end"] == len(premise)
    assert premise[evidence["start"] : evidence["end"]] == evidence["text"]
    assert len(evidence["text"]) < len(premise) // 10


def test_longest_first_and_none_on_the_same_premise(server: str, long_pair: tuple[str, str, str]):
    premise, _, hypothesis = long_pair
    pair = {"premise": premise, "hypothesis": hypothesis}
    cut = httpx.post(f"{server}/nli", json={**pair, "truncation": "longest_first"}, timeout=60)
    assert cut.status_code == 200 and cut.json()["truncated"] is True
    assert "evidence" not in cut.json()
    refused = httpx.post(f"{server}/nli", json={**pair, "truncation": "none"}, timeout=60)
    assert refused.status_code == 422
    assert (
        refused.json()["field"] == "premise+hypothesis" and "128 tokens" in refused.json()["detail"]
    )


def test_the_window_limit_is_a_422_naming_it(server: str):
    # 19,998 characters (within max_nli_chars) of one-token words: over 64 windows.
    response = httpx.post(f"{server}/nli", json={"premise": "x " * 9_999, "hypothesis": "h"})
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "premise+hypothesis"
    assert body["detail"].endswith("windows, the limit is 64 windows")
