import random

import pytest

from road.runtime.packing import batch_cost, padded_width, plan_batches


def test_padded_width_rounds_to_multiple_or_bucket():
    assert padded_width(13) == 13
    assert padded_width(13, pad_multiple=8) == 16
    assert padded_width(16, pad_multiple=8) == 16
    assert padded_width(13, buckets=(32, 64, 128)) == 32
    assert padded_width(64, buckets=(32, 64, 128)) == 64
    # Past the top of the ladder: the multiple applies again.
    assert padded_width(130, pad_multiple=8, buckets=(32, 64, 128)) == 136


def test_batches_are_cut_in_length_order_within_both_limits():
    lengths = [50, 10, 12, 48, 11, 49]
    batches = plan_batches(lengths, max_batch_size=3, max_batch_tokens=10_000)
    assert batches == [[1, 4, 2], [3, 5, 0]]


def test_token_budget_counts_padding_to_each_batch_longest_row():
    # 10-token rows fit 3 to a 35-token budget; the 30-token row pads alone.
    lengths = [10, 30, 10, 10, 10]
    batches = plan_batches(lengths, max_batch_size=100, max_batch_tokens=35)
    assert sorted(map(sorted, batches)) == [[0, 2, 3], [1], [4]]
    for batch in batches:
        padded, _ = batch_cost([lengths[i] for i in batch])
        assert padded <= 35


def test_a_row_longer_than_the_budget_still_gets_a_batch():
    assert plan_batches([500, 5], max_batch_size=8, max_batch_tokens=100) == [[1], [0]]


def test_pad_multiple_is_counted_in_the_budget():
    # Rows of 9 pad to 16 with a multiple of 8: only 2 fit in 32 tokens (3 would with no padding).
    assert plan_batches([9, 9, 9], 10, 32, pad_multiple=8) == [[0, 1], [2]]
    assert plan_batches([9, 9, 9], 10, 32) == [[0, 1, 2]]


@pytest.mark.parametrize("seed", range(5))
def test_every_row_lands_in_exactly_one_batch_within_limits(seed: int):
    rng = random.Random(seed)
    lengths = [rng.randint(1, 300) for _ in range(200)]
    batches = plan_batches(lengths, 16, 2048, pad_multiple=8)
    assert sorted(i for b in batches for i in b) == list(range(200))
    for batch in batches:
        padded, real = batch_cost([lengths[i] for i in batch], pad_multiple=8)
        assert len(batch) <= 16
        assert padded <= 2048 or len(batch) == 1
        assert real <= padded


def test_rejects_nonsense_limits():
    with pytest.raises(ValueError):
        plan_batches([1], 0, 10)
