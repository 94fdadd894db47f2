import asyncio
import time

import numpy as np
import pytest

from road.core.errors import DeadlineExceeded, Overloaded
from road.core.rows import Row
from road.runtime.settings import BatchSettings
from road.service.batcher import Batcher, BatchStats

from .fakes import RecordingSession


def row(value: int, length: int, type_id: int = 0) -> Row:
    ids = np.full(length, value, dtype=np.int64)
    return Row(ids, np.full(length, type_id, dtype=np.int64))


def settings(**overrides: float) -> BatchSettings:
    base = {"max_batch_size": 64, "max_batch_tokens": 10_000, "max_wait_ms": 200}
    return BatchSettings(**{**base, **overrides})  # type: ignore[arg-type]


async def run_concurrently(batcher: Batcher, groups: list[list[Row]]) -> list[list[dict]]:
    batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit(g) for g in groups))
    finally:
        await batcher.stop()


def test_flushes_on_size():
    session = RecordingSession()
    batcher = Batcher(session, settings(max_batch_size=4))
    asyncio.run(run_concurrently(batcher, [[row(i, 5)] for i in range(1, 9)]))
    assert [shape[0] for shape in session.batches] == [4, 4]


def test_flushes_on_tokens_counting_padding():
    session = RecordingSession()
    # 3 rows of 10 tokens fit 35; a fourth would make 40.
    batcher = Batcher(session, settings(max_batch_tokens=35))
    asyncio.run(run_concurrently(batcher, [[row(i, 10)] for i in range(1, 7)]))
    assert [shape[0] for shape in session.batches] == [3, 3]


def test_packs_by_length_and_pads_each_batch_to_its_own_longest_row():
    session = RecordingSession()
    batcher = Batcher(session, settings(max_batch_tokens=40, max_wait_ms=20))
    groups = [[row(1, 5)], [row(2, 20)], [row(3, 5)], [row(4, 6)]]
    asyncio.run(run_concurrently(batcher, groups))
    # The 20-token row does not pad the short ones: it runs in a batch of its own.
    assert sorted(session.batches) == [(1, 20), (3, 6)]


def test_pad_multiple_widens_the_batch():
    session = RecordingSession()
    batcher = Batcher(session, settings(pad_multiple=8, max_wait_ms=5))
    results = asyncio.run(run_concurrently(batcher, [[row(1, 5)], [row(2, 9)]]))
    assert session.batches == [(2, 16)]
    assert results[1][0]["start_logits"].tolist() == [2.0] * 9


def test_flushes_on_timeout_when_not_full():
    session = RecordingSession()
    batcher = Batcher(session, settings(max_wait_ms=30))

    async def scenario() -> float:
        batcher.start()
        try:
            started = time.monotonic()
            await batcher.submit([row(1, 4)])
            return time.monotonic() - started
        finally:
            await batcher.stop()

    assert asyncio.run(scenario()) >= 0.025
    assert session.batches == [(1, 4)]


def test_mixed_tasks_share_a_run_and_are_routed_back_with_unpadded_outputs():
    session = RecordingSession()
    batcher = Batcher(session, settings(max_wait_ms=20))
    stats: list[BatchStats] = []
    batcher._on_batch = stats.append

    async def scenario() -> list[list[dict]]:
        batcher.start()
        try:
            return await asyncio.gather(
                batcher.submit([row(7, 3), row(8, 6)], task="qa"),
                batcher.submit([row(9, 4, type_id=1)], task="nli"),
                batcher.submit([row(5, 2)], task="qa"),
            )
        finally:
            await batcher.stop()

    first, second, third = asyncio.run(scenario())
    assert len(session.batches) == 1, "concurrent requests of both tasks should share one run"
    assert sorted(stats[0].tasks) == ["nli", "qa", "qa", "qa"]
    assert first[0]["start_logits"].tolist() == [7.0] * 3
    assert first[1]["start_logits"].tolist() == [8.0] * 6
    assert second[0]["nli_logits"][0] == pytest.approx(36.0)
    assert third[0]["end_logits"].tolist() == [-5.0, -5.0]


def test_a_failing_batch_fails_only_its_requests():
    session = RecordingSession(fail_on_call=1)
    batcher = Batcher(session, settings(max_batch_size=1, max_wait_ms=0))

    async def scenario() -> None:
        batcher.start()
        try:
            with pytest.raises(Exception, match="inference failed") as caught:
                await batcher.submit([row(1, 3)])
            assert "injected" in str(caught.value.__cause__)
            ok = await batcher.submit([row(2, 3)])
            assert ok[0]["start_logits"].tolist() == [2.0, 2.0, 2.0]
        finally:
            await batcher.stop()

    asyncio.run(scenario())


def test_one_session_run_at_a_time_while_the_next_batch_is_prepared():
    session = RecordingSession(delay_s=0.3)
    batcher = Batcher(session, settings(max_batch_size=2, max_wait_ms=0))

    async def scenario() -> int:
        batcher.start()
        try:
            pending = asyncio.gather(*(batcher.submit([row(i, 4)]) for i in range(1, 7)))
            await asyncio.sleep(0.15)
            # Batch 1 runs, batch 2 is packed and padded already, the rest still queue.
            queued_during_first_run = batcher.queued_rows
            await pending
            return queued_during_first_run
        finally:
            await batcher.stop()

    assert asyncio.run(scenario()) == 2
    assert session.max_overlap == 1
    assert [shape[0] for shape in session.batches] == [2, 2, 2]


def long_row_latency(max_row_age_ms: float) -> tuple[float, float]:
    """Seconds until a long row is answered under a flood of short rows, and the flood's length."""
    session = RecordingSession(delay_s=0.005)
    batcher = Batcher(
        session,
        settings(
            max_batch_size=4, max_batch_tokens=400, max_wait_ms=1500, max_row_age_ms=max_row_age_ms
        ),
    )

    async def flood(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.gather(*(batcher.submit([row(2, 8)]) for _ in range(4)))

    async def timed_long_row(started: float) -> float:
        await batcher.submit([row(9, 120)])
        return time.monotonic() - started

    async def scenario() -> tuple[float, float]:
        batcher.start()
        stop = asyncio.Event()
        try:
            started = time.monotonic()
            flooding = asyncio.gather(*(flood(stop) for _ in range(3)))
            await asyncio.sleep(0.01)
            long_task = asyncio.ensure_future(timed_long_row(started))
            await asyncio.sleep(0.5)
            stop.set()
            await flooding
            flood_s = time.monotonic() - started
            return await long_task, flood_s
        finally:
            await batcher.stop()

    return asyncio.run(scenario())


def test_long_rows_do_not_starve_behind_full_batches_of_short_rows():
    answered, flood = long_row_latency(max_row_age_ms=50)
    assert answered < flood, "the long row should be answered while the flood goes on"
    # The same flood without the age bound keeps the long row waiting until it ends.
    answered_without, flood_without = long_row_latency(max_row_age_ms=60_000)
    assert answered_without >= flood_without


def test_rows_whose_deadline_passes_while_queued_are_never_run():
    session = RecordingSession(delay_s=0.3)
    drops: list[tuple[str, int]] = []
    batcher = Batcher(
        session,
        settings(max_batch_size=1, max_wait_ms=0),
        on_drop=lambda reason, rows: drops.append((reason, rows)),
    )

    async def scenario() -> None:
        batcher.start()
        try:
            busy = asyncio.ensure_future(batcher.submit([row(1, 4)]))
            await asyncio.sleep(0.05)
            with pytest.raises(DeadlineExceeded):
                await batcher.submit([row(42, 4), row(43, 4)], deadline=time.monotonic() + 0.05)
            await busy
            await asyncio.sleep(0.05)
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert [ids for ids in session.first_ids] == [[1]]
    assert drops == [("deadline", 2)]


def test_a_cancelled_request_is_dropped_before_inference_and_counted():
    session = RecordingSession(delay_s=0.2)
    drops: list[tuple[str, int]] = []
    batcher = Batcher(
        session,
        settings(max_batch_size=1, max_wait_ms=0),
        on_drop=lambda reason, rows: drops.append((reason, rows)),
    )

    async def scenario() -> None:
        batcher.start()
        try:
            busy = asyncio.ensure_future(batcher.submit([row(1, 4)]))
            await asyncio.sleep(0.05)
            gone = asyncio.ensure_future(batcher.submit([row(77, 4)]))
            await asyncio.sleep(0.01)
            gone.cancel()
            await busy
            assert (await batcher.submit([row(3, 4)]))[0]["start_logits"][0] == 3.0
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert all(77 not in ids for ids in session.first_ids)
    assert drops == [("cancelled", 1)]


def test_a_full_queue_refuses_at_once_with_a_retry_hint():
    session = RecordingSession(delay_s=0.2)
    batcher = Batcher(session, settings(max_batch_size=1, max_wait_ms=0, max_queue_rows=2))

    async def scenario() -> None:
        batcher.start()
        try:
            running = []
            for i in (1, 2, 3, 4):
                running.append(asyncio.ensure_future(batcher.submit([row(i, 4)])))
                await asyncio.sleep(0.02)
            # One row runs, one is prepared, two fill the queue.
            assert batcher.queued_rows == 2 and batcher.saturated()
            started = time.monotonic()
            with pytest.raises(Overloaded) as refused:
                await batcher.submit([row(9, 4)])
            assert time.monotonic() - started < 0.05
            assert refused.value.retry_after_s >= 1
            await asyncio.gather(*running)
        finally:
            await batcher.stop()

    asyncio.run(scenario())


def test_an_empty_queue_takes_a_request_larger_than_its_bounds():
    session = RecordingSession()
    batcher = Batcher(session, settings(max_queue_rows=2, max_queue_tokens=10, max_wait_ms=1))
    results = asyncio.run(run_concurrently(batcher, [[row(i, 8) for i in range(1, 5)]]))
    assert len(results[0]) == 4


def test_a_request_without_rows_never_reaches_the_session():
    session = RecordingSession()
    batcher = Batcher(session, settings())
    assert asyncio.run(run_concurrently(batcher, [[]])) == [[]]
    assert session.batches == []


def test_liveness_follows_the_batching_loops():
    batcher = Batcher(RecordingSession(), settings())

    async def scenario() -> tuple[bool, bool, bool]:
        before = batcher.alive
        batcher.start()
        await asyncio.sleep(0)
        running = batcher.alive
        await batcher.stop()
        return before, running, batcher.alive

    assert asyncio.run(scenario()) == (False, True, False)
