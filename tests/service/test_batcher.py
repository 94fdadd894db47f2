import asyncio

import numpy as np
import pytest

from road.core.rows import Row
from road.service.batcher import Batcher
from road.service.settings import BatchSettings

from .fakes import RecordingSession


def row(value: int, length: int) -> Row:
    ids = np.full(length, value, dtype=np.int64)
    return Row(ids, np.zeros(length, dtype=np.int64))


async def run_concurrently(batcher: Batcher, groups: list[list[Row]]) -> list[list[dict]]:
    batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit(g) for g in groups))
    finally:
        await batcher.stop()


def test_flushes_on_size():
    session = RecordingSession()
    batcher = Batcher(
        session, BatchSettings(max_batch_size=4, max_batch_tokens=10_000, max_wait_ms=200)
    )
    groups = [[row(i, 5)] for i in range(1, 9)]
    asyncio.run(run_concurrently(batcher, groups))
    assert [shape[0] for shape in session.batches] == [4, 4]


def test_flushes_on_tokens_counting_padding():
    session = RecordingSession()
    # 3 rows of 10 tokens fit 30; the fourth would make 40 > 35.
    batcher = Batcher(
        session, BatchSettings(max_batch_size=100, max_batch_tokens=35, max_wait_ms=200)
    )
    asyncio.run(run_concurrently(batcher, [[row(i, 10)] for i in range(1, 7)]))
    assert [shape[0] for shape in session.batches] == [3, 3]


def test_long_row_limits_batch_by_padded_size():
    session = RecordingSession()
    batcher = Batcher(
        session, BatchSettings(max_batch_size=100, max_batch_tokens=40, max_wait_ms=200)
    )
    # A 20-token row pads the 5-token rows to 20 each: only 2 rows fit 40 tokens.
    asyncio.run(run_concurrently(batcher, [[row(1, 5)], [row(2, 20)], [row(3, 5)], [row(4, 5)]]))
    assert session.batches[0] == (2, 20)


def test_flushes_on_timeout_when_not_full():
    session = RecordingSession()
    batcher = Batcher(
        session, BatchSettings(max_batch_size=64, max_batch_tokens=10_000, max_wait_ms=30)
    )

    async def scenario() -> None:
        batcher.start()
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await batcher.submit([row(1, 4)])
            waited = loop.time() - started
            assert waited >= 0.025
            assert session.batches == [(1, 4)]
        finally:
            await batcher.stop()

    asyncio.run(scenario())


def test_rows_are_routed_back_to_their_requests_with_unpadded_outputs():
    session = RecordingSession()
    batcher = Batcher(
        session, BatchSettings(max_batch_size=64, max_batch_tokens=10_000, max_wait_ms=20)
    )
    groups = [[row(7, 3), row(8, 6)], [row(9, 4)]]
    results = asyncio.run(run_concurrently(batcher, groups))
    assert len(session.batches) == 1, "concurrent requests should share one run"
    first, second = results
    assert first[0]["start_logits"].tolist() == [7.0, 7.0, 7.0]
    assert first[1]["start_logits"].tolist() == [8.0] * 6
    assert second[0]["start_logits"].tolist() == [9.0] * 4
    assert second[0]["nli_logits"][0] == pytest.approx(36.0)


def test_a_failing_batch_fails_only_its_requests():
    session = RecordingSession(fail_on_call=1)
    batcher = Batcher(
        session, BatchSettings(max_batch_size=1, max_batch_tokens=10_000, max_wait_ms=0)
    )

    async def scenario() -> None:
        batcher.start()
        try:
            with pytest.raises(RuntimeError, match="injected"):
                await batcher.submit([row(1, 3)])
            ok = await batcher.submit([row(2, 3)])
            assert ok[0]["start_logits"].tolist() == [2.0, 2.0, 2.0]
        finally:
            await batcher.stop()

    asyncio.run(scenario())
