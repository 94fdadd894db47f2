import asyncio
import time

import pytest

from road.core.errors import DeadlineExceeded, InputTooLong, Overloaded
from road.runtime.protocol import NLIRequest, QARequest
from road.service.batcher import Batcher
from road.service.engine import Engine
from road.service.settings import ServerSettings

from .fakes import FakeRuntime, KeywordSession

FILLER = "The committee met on a rainy Tuesday and discussed the budget at length. "
QUESTION = "Which animal is mentioned?"


def keyword_runtime(**session_args: float) -> FakeRuntime:
    probe = FakeRuntime.create(KeywordSession(0))
    keyword_id = probe.qa_encoder.tokenizer.token_to_id("zebra")
    assert keyword_id is not None
    return FakeRuntime.create(KeywordSession(keyword_id, **session_args))


def make_engine(runtime: FakeRuntime, **settings: float) -> Engine:
    server = ServerSettings(**settings)  # type: ignore[arg-type]
    return Engine(runtime, Batcher(runtime.run, server.batch), server)


async def with_engine(engine: Engine, work):  # noqa: ANN001, ANN201
    engine.batcher.start()
    try:
        return await work(engine)
    finally:
        await engine.batcher.stop()
        engine.close()


def five_window_context(runtime: FakeRuntime) -> str:
    context = FILLER * 47 + "In the last paragraph a zebra crossed the road."
    windows = runtime.qa_encoder.encode([QUESTION], [context])[0]
    keyword = runtime.session.keyword_id  # type: ignore[attr-defined]
    assert len(windows) == 5
    assert [keyword in w.input_ids for w in windows] == [False] * 4 + [True]
    return context


def test_a_five_window_context_is_answered_when_its_windows_span_batches():
    runtime = keyword_runtime()
    context = five_window_context(runtime)
    request = QARequest(question=QUESTION, context=context)
    split = make_engine(runtime, max_batch_size=2, max_wait_ms=1)
    answer = asyncio.run(with_engine(split, lambda e: e.answer([request])))[0]
    assert [shape[0] for shape in runtime.session.batches] == [2, 2, 1]
    assert answer.answer == "zebra"
    assert context[answer.start : answer.end] == "zebra"
    assert answer.start == context.index("zebra")
    # The same request with all windows in one batch gives the same answer and score.
    runtime.session.batches.clear()
    whole = make_engine(runtime, max_batch_size=64, max_batch_tokens=8192, max_wait_ms=1)
    together = asyncio.run(with_engine(whole, lambda e: e.answer([request])))[0]
    assert runtime.session.batches == [(5, 256)]
    assert together == answer


def test_concurrent_qa_and_nli_requests_get_their_own_answers():
    runtime = keyword_runtime()
    engine = make_engine(runtime, max_batch_size=64, max_wait_ms=20)
    contexts = [f"Item {i}: a zebra stood near tree number {i}." for i in range(6)]
    pairs = [("A man is here.", "x " * n) for n in range(1, 7)]

    async def work(e: Engine) -> tuple[list, list]:
        qa = [e.answer([QARequest(question=QUESTION, context=c)]) for c in contexts]
        nli = [e.classify([NLIRequest(premise=p, hypothesis=h)]) for p, h in pairs]
        results = await asyncio.gather(*qa, *nli)
        return results[: len(qa)], results[len(qa) :]

    qa_results, nli_results = asyncio.run(with_engine(engine, work))
    assert len(runtime.session.batches) == 1, "all rows of both tasks should share one run"
    for context, (answer,) in zip(contexts, qa_results):
        assert context[answer.start : answer.end] == "zebra"
    for (premise, hypothesis), (result,) in zip(pairs, nli_results):
        length = len(runtime.nli_encoder.encode([premise], [hypothesis])[0])
        assert result.label == ("entailment" if length % 2 == 0 else "contradiction")


def test_a_request_past_its_deadline_is_refused_before_inference():
    runtime = keyword_runtime()
    engine = make_engine(runtime, max_wait_ms=1)
    request = NLIRequest(premise="A dog runs.", hypothesis="An animal moves.")
    with pytest.raises(DeadlineExceeded):
        asyncio.run(with_engine(engine, lambda e: e.classify([request], time.monotonic() - 1)))
    assert runtime.session.batches == []


def test_limits_name_the_field():
    engine = make_engine(keyword_runtime(), max_nli_chars=10)
    request = NLIRequest(premise="A dog runs through the park.", hypothesis="An animal.")
    with pytest.raises(InputTooLong, match="premise") as caught:
        asyncio.run(with_engine(engine, lambda e: e.classify([request])))
    assert caught.value.field == "premise" and caught.value.limit == 10


def test_requests_beyond_max_in_flight_are_refused_at_once():
    runtime = keyword_runtime(delay_s=0.3)
    engine = make_engine(runtime, max_in_flight=2, max_wait_ms=0)
    request = NLIRequest(premise="A dog runs.", hypothesis="An animal moves.")

    async def work(e: Engine) -> list[object]:
        calls = (e.classify([request]) for _ in range(3))
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(with_engine(engine, work))
    assert sum(isinstance(r, Overloaded) for r in results) == 1
    assert sum(isinstance(r, list) for r in results) == 2


def test_a_request_null_threshold_overrides_the_bundles():
    runtime = keyword_runtime()
    engine = make_engine(runtime, max_wait_ms=1)
    context = "In the park a zebra was grazing quietly."
    # The keyword's span sums to +10, the null (CLS) to -10: null - best = -20.
    requests = [
        QARequest(question=QUESTION, context=context),
        QARequest(question=QUESTION, context=context, null_threshold=-25),
        QARequest(question=QUESTION, context=context, null_threshold=-15),
    ]
    answers = asyncio.run(with_engine(engine, lambda e: e.answer(requests)))
    assert [a.answer for a in answers] == ["zebra", "", "zebra"]
    assert QARequest.model_validate({"question": "q", "context": "c", "null_threshold": 2})
    with pytest.raises(ValueError):
        QARequest.model_validate({"question": "q", "context": "c", "null_threshold": float("inf")})


def test_a_request_min_score_abstains_from_a_weak_span():
    runtime = keyword_runtime()
    engine = make_engine(runtime, max_wait_ms=1)
    context = "In the park a zebra was grazing quietly."
    (plain,) = asyncio.run(
        with_engine(engine, lambda e: e.answer([QARequest(question=QUESTION, context=context)]))
    )
    assert plain.answer == "zebra" and plain.abstained is None
    floors = [plain.score - 1e-6, min(1.0, plain.score + 1e-3)]
    requests = [QARequest(question=QUESTION, context=context, min_score=m) for m in floors]
    engine = make_engine(runtime, max_wait_ms=1)
    kept, gone = asyncio.run(with_engine(engine, lambda e: e.answer(requests)))
    assert kept == plain
    assert (gone.answer, gone.abstained, gone.score) == ("", True, plain.score)
