"""fastnn.ops.dropout / dropout_backward / dropout_mask: the documented mask rule, statistics of the
kept fraction, E[y] = x, windows and offsets, thread counts, in-place use, and bad input."""

import numpy as np
import pytest
from scipy import stats

import fastnn
from conftest import num_threads

DTYPES = [np.float32, np.float64]


def documented_mask(shape, rate, seed, offset=0):
    return fastnn.random.random_bits(shape, seed=seed, offset=offset) >= round(rate * 2**32)


@pytest.mark.parametrize("rate", [0.001, 0.1, 0.5, 0.9, 0.999])
def test_mask_follows_the_documented_rule(rate):
    for seed, offset in [(0, 0), (12345, 3), (2**64 - 1, 2**40 + 1)]:
        np.testing.assert_array_equal(
            fastnn.ops.dropout_mask((7, 11, 13), rate, seed=seed, offset=offset),
            documented_mask((7, 11, 13), rate, seed, offset),
        )


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5, 0.8])
def test_kept_fraction_within_binomial_bound(rate):
    n = 2_000_000
    for seed in range(3):
        kept = int(fastnn.ops.dropout_mask(n, rate, seed=seed).sum())
        expected, sigma = n * (1 - rate), np.sqrt(n * rate * (1 - rate))
        assert abs(kept - expected) < 6 * sigma  # false-alarm probability ~2e-9 per draw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.75])
def test_values_are_scaled_or_zero_and_unbiased(rng, dtype, rate):
    x = rng.standard_normal(1_000_003).astype(dtype)
    y = fastnn.ops.dropout(x, rate, seed=42, offset=9)
    mask = documented_mask(x.shape, rate, 42, 9)
    np.testing.assert_array_equal(y[mask], x[mask] * dtype(1 / (1 - rate)))
    assert np.all(y[~mask] == 0)
    # E[y] = x: for a constant input the mean of y estimates x with a known binomial spread.
    ones = np.ones(1_000_000, dtype)
    mean = fastnn.ops.dropout(ones, rate, seed=7).mean(dtype=np.float64)
    assert abs(mean - 1.0) < 6 * np.sqrt(rate / ((1 - rate) * ones.size))


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_applies_the_forward_mask(rng, dtype):
    x = rng.standard_normal((300, 301)).astype(dtype)
    dy = rng.standard_normal((300, 301)).astype(dtype)
    y = fastnn.ops.dropout(x, 0.3, seed=5, offset=2)
    dx = fastnn.ops.dropout_backward(dy, 0.3, seed=5, offset=2)
    kept = y != 0
    np.testing.assert_array_equal(kept, documented_mask(x.shape, 0.3, 5, 2) & (x != 0))
    np.testing.assert_array_equal(dx, np.where(documented_mask(x.shape, 0.3, 5, 2), dy * dtype(1 / 0.7), 0))


def test_backward_keeps_no_mask():
    """dropout_backward regenerates the mask from (seed, offset): the only Python-visible memory
    it takes is its output (a stored bool mask would add 1 byte per element; the C++ kernel
    itself allocates nothing)."""
    import tracemalloc

    dy = np.ones(1_000_000, np.float32)
    tracemalloc.start()
    try:
        dx = fastnn.ops.dropout_backward(dy, 0.5, seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dx.nbytes <= peak < dx.nbytes + 64 * 1024


def test_window_of_a_longer_call_equals_a_call_with_the_offset(rng):
    x = rng.standard_normal(100_001).astype(np.float32)
    whole = fastnn.ops.dropout(x, 0.5, seed=3, offset=11)
    for start in (1, 2, 3, 4, 5, 50_000, 99_999):
        np.testing.assert_array_equal(whole[start:], fastnn.ops.dropout(x[start:], 0.5, seed=3, offset=11 + start))


def test_distinct_seeds_and_offsets_differ():
    masks = [fastnn.ops.dropout_mask(10_000, 0.5, seed=s, offset=o) for s, o in [(0, 0), (1, 0), (0, 1), (0, 4)]]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            # Independent masks agree on about half the elements.
            assert 0.45 < np.mean(masks[i] == masks[j]) < 0.55


def _correlation(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    a -= a.mean()
    b -= b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


# Independent masks: sqrt(n) * (sample correlation) is close to N(0, 1); 5.5 sigma -> 4e-8 per test.
@pytest.mark.parametrize("seed_a, seed_b", [(0, 1), (7, 2**32 + 7), (123, 124), (2**64 - 1, 2**64 - 2)])
def test_masks_of_different_seeds_are_uncorrelated(seed_a, seed_b):
    n = 1_000_000
    a = fastnn.ops.dropout_mask(n, 0.5, seed=seed_a, offset=5)
    b = fastnn.ops.dropout_mask(n, 0.5, seed=seed_b, offset=5)
    assert abs(_correlation(a, b)) < 5.5 / np.sqrt(n)


@pytest.mark.parametrize("rate", [0.3, 0.5])
@pytest.mark.parametrize("lag", [1, 2, 3, 4, 8, 16, 32, 64])
def test_masks_at_nearby_offsets_are_uncorrelated(rate, lag):
    """mask(offset=o + lag) against mask(offset=o): the same stream shifted. Lags 4, 16 and 32+
    compare draws of different Philox blocks in the same SIMD lane (a block, an AVX2 batch of 8
    blocks, an AVX-512 batch of 16), lags 1-3 words of one block."""
    n = 1_000_000
    mask = fastnn.ops.dropout_mask(n + lag, rate, seed=11, offset=3)
    assert abs(_correlation(mask[:n], mask[lag:])) < 5.5 / np.sqrt(n)


def test_kept_fraction_is_the_same_at_every_position_in_a_batch():
    """Counts of kept elements by position mod 64 (every word slot of every lane of a batch):
    chi-square against equal shares, p > 1e-6."""
    mask = fastnn.ops.dropout_mask(64 * 50_000, 0.5, seed=2)
    kept = np.bincount(np.flatnonzero(mask) % 64, minlength=64)
    assert stats.chisquare(kept).pvalue > 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_identical_for_any_thread_count(rng, dtype):
    x = rng.standard_normal(1_234_567).astype(dtype)
    results = []
    for threads in (1, 2, 3):
        with num_threads(threads):
            results.append((fastnn.ops.dropout(x, 0.37, seed=99), fastnn.ops.dropout_mask(x.size, 0.37, seed=99)))
    for y, mask in results[1:]:
        np.testing.assert_array_equal(results[0][0], y)
        np.testing.assert_array_equal(results[0][1], mask)


def test_identity_when_rate_is_zero_or_not_training(rng):
    x = rng.standard_normal((5, 6))
    assert fastnn.ops.dropout(x, 0.0, seed=1) is x
    assert fastnn.ops.dropout(x, 0.5, seed=1, training=False) is x
    out = np.empty_like(x)
    assert fastnn.ops.dropout(x, 0.5, seed=1, training=False, out=out) is out
    np.testing.assert_array_equal(out, x)


def test_in_place_and_non_contiguous_input(rng):
    x = rng.standard_normal((64, 80))
    expected = fastnn.ops.dropout(x, 0.5, seed=8)
    view = np.asfortranarray(x)
    np.testing.assert_array_equal(fastnn.ops.dropout(view, 0.5, seed=8), expected)  # C order defines positions
    assert fastnn.ops.dropout(x, 0.5, seed=8, out=x) is x
    np.testing.assert_array_equal(x, expected)


def test_dropped_elements_are_zero_even_for_nan_and_inf():
    x = np.array([np.nan, np.inf, -np.inf] * 1000)
    y = fastnn.ops.dropout(x, 0.5, seed=0)
    mask = documented_mask(x.shape, 0.5, 0)
    assert np.all(y[~mask] == 0)
    assert np.array_equal(y[mask], x[mask] * 2, equal_nan=True)


def test_sizes_past_32_bit_indexing():
    """2**31 + 5 elements: the last ones must sit at their 64-bit positions (about 2 GiB of bools)."""
    n = 2**31 + 5
    mask = fastnn.ops.dropout_mask(n, 0.5, seed=21)
    np.testing.assert_array_equal(mask[-10:], fastnn.ops.dropout_mask(10, 0.5, seed=21, offset=n - 10))
    np.testing.assert_array_equal(mask[:10], fastnn.ops.dropout_mask(10, 0.5, seed=21))


def test_empty_and_scalar_inputs():
    assert fastnn.ops.dropout(np.ones(0), 0.5, seed=0).shape == (0,)
    assert fastnn.ops.dropout(np.float64(3.0), 0.5, seed=0).shape == ()
    assert fastnn.ops.dropout_mask((0, 3), 0.5, seed=0).shape == (0, 3)


class TestBadInput:
    @pytest.mark.parametrize("rate", [1.0, 1.5, -0.01, float("nan"), float("inf")])
    def test_rate_outside_the_unit_interval(self, rate):
        with pytest.raises(ValueError, match=r"Argument `rate` must be in \[0, 1\). Received: rate="):
            fastnn.ops.dropout(np.ones(3), rate, seed=0)

    @pytest.mark.parametrize("rate", ["0.5", None, True])
    def test_rate_of_the_wrong_type(self, rate):
        with pytest.raises(TypeError, match="rate"):
            fastnn.ops.dropout(np.ones(3), rate, seed=0)

    @pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**64, ValueError), (1.5, TypeError), ("1", TypeError)])
    def test_bad_seed(self, seed, error):
        with pytest.raises(error, match="seed"):
            fastnn.ops.dropout(np.ones(3), 0.5, seed=seed)

    def test_seed_is_required(self):
        with pytest.raises(TypeError):
            fastnn.ops.dropout(np.ones(3), 0.5)

    def test_bad_offset(self):
        with pytest.raises(ValueError, match="offset"):
            fastnn.ops.dropout(np.ones(3), 0.5, seed=0, offset=-1)
        with pytest.raises(ValueError, match="offset"):
            fastnn.ops.dropout_mask(4, 0.5, seed=0, offset=2**64 - 3)

    def test_integer_input(self):
        with pytest.raises(TypeError, match="`x`"):
            fastnn.ops.dropout(np.ones(3, np.int64), 0.5, seed=0)

    def test_partially_overlapping_out(self):
        x = np.ones(10)
        with pytest.raises(ValueError, match="overlaps"):
            fastnn.ops.dropout(x[:5], 0.5, seed=0, out=x[1:6])

    def test_wrong_out_dtype(self):
        with pytest.raises(ValueError, match="dtype"):
            fastnn.ops.dropout(np.ones(3), 0.5, seed=0, out=np.ones(3, np.float32))

    @pytest.mark.parametrize("shape, error", [((-1, 3), ValueError), ((2.5,), TypeError), ("abc", TypeError)])
    def test_bad_mask_shape(self, shape, error):
        with pytest.raises(error, match="shape"):
            fastnn.ops.dropout_mask(shape, 0.5, seed=0)
