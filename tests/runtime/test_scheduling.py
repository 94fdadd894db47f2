import asyncio

import numpy as np

from road.core.rows import Row
from road.runtime.scheduling import Job, Slot, choose_batch, wait_budget_s
from road.runtime.settings import BatchSettings

SETTINGS = BatchSettings(
    max_batch_size=2, max_batch_tokens=1000, max_wait_ms=10, max_row_age_ms=100
)


def slots(lengths: list[int], queued_at: list[float]) -> list[Slot]:
    loop = asyncio.new_event_loop()
    try:
        rows = [Row(np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)) for n in lengths]
        job = Job("qa", rows, loop.create_future())
        return [Slot(job, i, t) for i, t in enumerate(queued_at)]
    finally:
        loop.close()


def lengths_of(chosen: list[Slot] | None) -> list[int] | None:
    return None if chosen is None else [len(s) for s in chosen]


def test_waits_while_nothing_is_full_or_due():
    window = slots([5], [0.0])
    assert choose_batch(window, 0.005, SETTINGS) is None
    assert wait_budget_s(window, 0.005, SETTINGS) == 0.005
    assert lengths_of(choose_batch(window, 0.011, SETTINGS)) == [5]


def test_a_full_batch_runs_at_once_the_one_with_the_oldest_row_first():
    # Lengths 50, 9, 10, 48 pack as [9, 10] and [48, 50]; the 50-row is the oldest.
    window = slots([50, 9, 10, 48], [0.0, 0.001, 0.002, 0.003])
    assert lengths_of(choose_batch(window, 0.004, SETTINGS)) == [50, 48]


def test_an_old_row_runs_next_even_if_its_batch_is_not_full():
    window = slots([300, 8, 8], [0.0, 0.05, 0.05])
    assert lengths_of(choose_batch(window, 0.06, SETTINGS)) == [8, 8]
    assert lengths_of(choose_batch(window, 0.101, SETTINGS)) == [300]
