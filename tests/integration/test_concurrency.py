"""Mixed QA + NLI traffic at once through the real server and bundle: batching changes nothing.

The NLI traffic includes long premises, windowed, whose windows share runs with everything else.

Every response to a request fired among 200 concurrent ones must equal the answer the same
server gives that input alone: same answer text and offsets, same label; scores may move by a
rounding-sized amount.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from road.core.bundle import load_manifest
from road.core.qa import QAEncoder
from road.runtime.settings import default_bundle

from .server import Server, bundle_under_test, server_process
from .workload import long_nli_items, nli_items, qa_items

pytestmark = pytest.mark.integration

SCORE_TOLERANCE = 0.02
FILLER = (
    "The museum also holds a large collection of paintings, sculptures and everyday objects "
    "donated by local families over the last two centuries. "
)
LYON = (
    "Lyon is the third-largest city of France. It is located at the confluence of the rivers "
    "Rhône and Saône. The city was founded by the Romans in 43 BC under the name Lugdunum."
)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """The default bundle, or ROAD_TEST_BUNDLE (see `bundle_under_test`)."""
    # Two threads as on a small node; no deadline to trip on a slow, shared test machine.
    env = {"ROAD_INTRA_OP_THREADS": "2", "ROAD_MAX_WAIT_MS": "5", "ROAD_REQUEST_TIMEOUT_S": "600"}
    with server_process(bundle_under_test(), env=env) as server:
        yield server


async def post_all(url: str, calls: list[tuple[str, dict]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        return await asyncio.gather(*(client.post(path, json=body) for path, body in calls))


def same_answer(single: dict, concurrent: dict) -> bool:
    if "label" in single:
        close = all(
            abs(single["scores"][k] - concurrent["scores"][k]) <= SCORE_TOLERANCE
            for k in single["scores"]
        )
        same_evidence = single.get("evidence") == concurrent.get("evidence")
        return single["label"] == concurrent["label"] and close and same_evidence
    spans = [(single[k], concurrent[k]) for k in ("answer", "start", "end")]
    close = abs(single["score"] - concurrent["score"]) <= SCORE_TOLERANCE
    return all(a == b for a, b in spans) and close


def test_200_concurrent_mixed_requests_equal_their_single_request_answers(server: Server):
    # Contexts of up to ~3 windows keep the 200 one-at-a-time reference calls affordable.
    calls = [("/qa", item) for item in qa_items(80, seed=1, max_context_chars=2000)]
    calls += [("/nli", item) for item in nli_items(100, seed=2)]
    calls += [("/nli", item) for item in long_nli_items(20, seed=5)]
    singles = [httpx.post(f"{server.url}{path}", json=body, timeout=120) for path, body in calls]
    assert all(r.status_code == 200 for r in singles)
    windowed = [r for r in singles[-20:] if "evidence" in r.json()]
    assert len(windowed) >= 15, "the long premises should have been windowed"
    before = server.metrics()
    concurrent = asyncio.run(post_all(server.url, calls))
    assert [r.status_code for r in concurrent] == [200] * len(calls)
    after = server.metrics()
    count, total = 'road_batch_rows_count{model="road"}', 'road_batch_rows_sum{model="road"}'
    runs = after[count] - before[count]
    rows = after[total] - before[total]
    assert rows / runs > 2, "concurrent requests should have shared session runs"
    mixed = [
        name
        for name in after
        if name.startswith("road_stage_duration_seconds_count")
        and 'stage="inference",task="nli+qa"' in name
    ]
    assert mixed, "some runs should have held QA windows and NLI pairs together"
    differing = [
        (body, s.json(), c.json())
        for (_, body), s, c in zip(calls, singles, concurrent)
        if not same_answer(s.json(), c.json())
    ]
    assert not differing, f"{len(differing)} of {len(calls)} differ; first: {differing[0]}"


def test_long_context_with_the_answer_only_in_the_last_window_under_load(server: Server):
    context = FILLER * 21 + LYON
    bundle = bundle_under_test() or default_bundle()
    qa = load_manifest(bundle, verify=False).tasks.qa
    assert qa is not None
    encoder = QAEncoder.from_file(bundle, qa.max_seq_len, qa.doc_stride, qa.max_question_tokens)
    question = "Who founded Lyon?"
    windows = encoder.encode([question], [context])[0]
    romans = context.index("Romans")
    holding = [i for i, w in enumerate(windows) if (w.offsets[:, 0] == romans).any()]
    assert len(windows) >= 3 and holding == [len(windows) - 1], (
        "the answer must be in the last window"
    )
    calls = [("/qa", {"question": question, "context": context})]
    calls += [("/nli", item) for item in nli_items(40, seed=3)]
    calls += [("/qa", item) for item in qa_items(20, seed=4, max_context_chars=2000)]
    first = asyncio.run(post_all(server.url, calls))[0]
    assert first.status_code == 200
    body = first.json()
    assert "Romans" in body["answer"]
    assert context[body["start"] : body["end"]] == body["answer"]
    assert body["start"] >= len(FILLER) * 21
