"""Tests of fastnn.random: the Philox4x32-10 block, the documented stream layout, and the fills.

Three kinds of checks:

- exact ones against an independent pure-Python Philox4x32-10 written here from the published
  algorithm (Salmon et al., SC 2011; Random123's philox.h) and checked on Random123's
  known-answer vectors, so no expected value comes from the code under test;
- structural ones (windows, thread counts, seeds and offsets) that follow from the layout
  documented in fastnn/random.py;
- statistical ones. Every threshold is chosen so that a correct generator fails a test with
  probability below about 1e-6 (ALPHA for p-values, 5.5 sigma for normal approximations,
  exact binomial tails of 1e-7 per side); the seeds are fixed, so the suite is deterministic.
"""

import math

import numpy as np
import pytest
from scipy import stats

import fastnn
from conftest import num_threads

R = fastnn.random

# p-value threshold of the goodness-of-fit tests: a correct generator fails one with
# probability ALPHA (the brief's 1e-4 would give a false failure in about 1 run in 10**4).
ALPHA = 1e-6
# Normal-approximation bound for moment tests: P(|Z| > 5.5) = 3.8e-8.
Z_BOUND = 5.5
DTYPES = (np.float32, np.float64)
SEEDS = (0, 1, 2**32 + 5, 2**64 - 1)
OFFSETS = (0, 1, 3, 2**32 - 1, 2**63 + 7)
MASK32 = 0xFFFFFFFF


# --------------------------------------------------------------------------------------------
# An independent reference, written from the published algorithm.
# --------------------------------------------------------------------------------------------


def philox_ref(counter, key):
    """Philox4x32-10: 10 rounds of (hi1^c1^k0, lo1, hi0^c3^k1, lo0), key bumped before rounds 2..10."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round_ in range(10):
        if round_ > 0:
            k0 = (k0 + 0x9E3779B9) & MASK32
            k1 = (k1 + 0xBB67AE85) & MASK32
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
    return c0, c1, c2, c3


def block_ref(seed, b, attempt=0):
    """Block b of stream `seed`: counter (b % 2**32, b // 2**32, attempt, 0), key (seed % 2**32, seed // 2**32)."""
    return philox_ref((b % 2**32, b // 2**32, attempt, 0), (seed % 2**32, seed // 2**32))


def word_ref(seed, position):
    """The 32-bit draw at `position` (one word per value, four per block)."""
    return block_ref(seed, position // 4)[position % 4]


def uniform32_ref(seed, position, low, high):
    """float32 uniform: top 24 bits of one word; low + (high - low) * u rounded to float32."""
    u = (word_ref(seed, position) >> 8) * 2.0**-24
    return np.float32(low + (high - low) * u)


def uniform64_ref(seed, position, low, high):
    """float64 uniform: two per block, w64 = w[2j] | w[2j+1] << 32, u = (w64 >> 11) * 2**-53."""
    w = block_ref(seed, position // 2)
    j = position % 2
    u = ((w[2 * j] | (w[2 * j + 1] << 32)) >> 11) * 2.0**-53
    return low + (high - low) * u


def normal_pair_ref(w):
    """Box-Muller on u1 in (0, 1] (words 0-1) and u2 in [0, 1) (words 2-3), with Python's libm."""
    u1 = (((w[0] | (w[1] << 32)) >> 11) + 1) * 2.0**-53
    u2 = ((w[2] | (w[3] << 32)) >> 11) * 2.0**-53
    radius = math.sqrt(-2.0 * math.log(u1))
    return radius * math.cos(2.0 * math.pi * u2), radius * math.sin(2.0 * math.pi * u2)


def normal_ref(seed, position):
    """Standard normal at `position`: the cosine at even positions, the sine at odd ones."""
    return normal_pair_ref(block_ref(seed, position // 2))[position % 2]


def truncated_normal_ref(seed, position):
    """Standard normal on [-2, 2]: a value beyond is redrawn from attempt 1, 2, ... of its block."""
    attempt = 0
    while True:
        z = normal_pair_ref(block_ref(seed, position // 2, attempt))[position % 2]
        if abs(z) <= 2.0:
            return z, attempt
        attempt += 1


# --------------------------------------------------------------------------------------------
# Statistical helpers.
# --------------------------------------------------------------------------------------------


def assert_ks(sample, cdf):
    result = stats.kstest(np.asarray(sample, np.float64), cdf)
    assert result.pvalue > ALPHA, f"KS statistic {result.statistic:.3g}, p = {result.pvalue:.3g}"


def assert_moments(sample, mean, var, mu4):
    """Sample mean and variance (about the known mean) within Z_BOUND standard errors.

    The mean of n draws has variance var / n; the mean of (x - mean)**2 has variance
    (mu4 - var**2) / n, mu4 being the fourth central moment; n >= 1e5 makes both close to normal.
    """
    x = np.asarray(sample, np.float64).ravel()
    n = x.size
    sample_mean = x.mean()
    sample_var = np.mean((x - mean) ** 2)
    assert abs(sample_mean - mean) < Z_BOUND * math.sqrt(var / n), (sample_mean, mean)
    assert abs(sample_var - var) < Z_BOUND * math.sqrt((mu4 - var**2) / n), (sample_var, var)


def assert_binomial(count, n, p, tail=1e-7):
    """`count` successes in n trials of probability p: both exact binomial tails above `tail`."""
    low_tail = stats.binom.cdf(count, n, p)
    high_tail = stats.binom.sf(count - 1, n, p)
    assert low_tail > tail and high_tail > tail, f"{count} of {n}, expected {n * p:.1f} (tails {low_tail:.3g}, {high_tail:.3g})"


def assert_equidistributed(labels, bins):
    counts = np.bincount(np.asarray(labels, np.int64).ravel(), minlength=bins)
    assert counts.size == bins
    pvalue = stats.chisquare(counts).pvalue
    assert pvalue > ALPHA, f"chi-square p = {pvalue:.3g}, counts {counts}"


def draw(kind, size, dtype, *, seed, offset=0):
    """One call of a fill by name, with fixed non-trivial parameters."""
    if kind == "random_bits":
        return R.random_bits(size, seed=seed, offset=offset)
    if kind == "uniform":
        return R.uniform(size, -1.5, 2.5, seed=seed, offset=offset, dtype=dtype)
    if kind == "normal":
        return R.normal(size, 0.5, 3.0, seed=seed, offset=offset, dtype=dtype)
    return R.truncated_normal(size, 0.5, 3.0, seed=seed, offset=offset, dtype=dtype)


KINDS = [("random_bits", np.uint32)] + [(kind, dtype) for kind in ("uniform", "normal", "truncated_normal") for dtype in DTYPES]
KIND_IDS = [f"{kind}-{np.dtype(dtype).name}" for kind, dtype in KINDS]


# --------------------------------------------------------------------------------------------
# Philox4x32-10 and the stream layout.
# --------------------------------------------------------------------------------------------

KAT_VECTORS = [  # Random123 kat_vectors: philox4x32 10 rounds, counter, key -> output
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KAT_VECTORS)
def test_philox_known_answers(counter, key, expected):
    out = R.philox4x32(counter, key)
    assert out.dtype == np.uint32
    assert [int(v) for v in out] == list(expected)


@pytest.mark.parametrize("counter, key, expected", KAT_VECTORS)
def test_reference_philox_known_answers(counter, key, expected):
    """The Python reference that the layout tests rely on is itself right."""
    assert philox_ref(counter, key) == expected


def test_philox_matches_reference_on_random_inputs():
    rng = np.random.default_rng(20240601)
    for _ in range(200):
        counter = [int(v) for v in rng.integers(0, 2**32, 4)]
        key = [int(v) for v in rng.integers(0, 2**32, 2)]
        assert tuple(int(v) for v in R.philox4x32(counter, key)) == philox_ref(counter, key)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("offset", OFFSETS)
def test_random_bits_layout(seed, offset):
    """random_bits(n, seed=s, offset=o)[i] is word (o+i) % 4 of block (o+i) // 4."""
    n = 11  # crosses three block boundaries at every offset
    got = R.random_bits(n, seed=seed, offset=offset)
    expected = [block_ref(seed, (offset + i) // 4)[(offset + i) % 4] for i in range(n)]
    assert [int(v) for v in got] == expected


def test_numpy_integer_seeds_and_offsets():
    """NumPy integers are accepted for seed and offset and mean the same as Python ints."""
    seed, offset = 2**64 - 1, 2**63 + 7
    got = R.random_bits(6, seed=np.uint64(seed), offset=np.uint64(offset))
    assert [int(v) for v in got] == [word_ref(seed, offset + i) for i in range(6)]
    np.testing.assert_array_equal(R.normal(5, seed=np.int64(12), offset=np.int32(3)), R.normal(5, seed=12, offset=3))


def test_random_bits_layout_at_the_end_of_the_stream():
    """The last positions below 2**64 (block counter words both 0xFFFFFFFF)."""
    seed = 2**64 - 1
    got = R.random_bits(7, seed=seed, offset=2**64 - 7)
    assert [int(v) for v in got] == [word_ref(seed, 2**64 - 7 + i) for i in range(7)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("offset", [0, 1, 2**32 - 1, 2**63 + 7])
def test_uniform_float32_layout(seed, offset):
    """float32 on [0, 1): exactly (word >> 8) * 2**-24; on [-2, 3): that value mapped and rounded."""
    n = 6
    got = R.uniform(n, seed=seed, offset=offset, dtype=np.float32)
    assert got.tolist() == [float(uniform32_ref(seed, offset + i, 0.0, 1.0)) for i in range(n)]
    # -2 and 3 are exact in float32, so the affine map is computed identically in double.
    got = R.uniform(n, -2.0, 3.0, seed=seed, offset=offset, dtype=np.float32)
    assert got.tolist() == [float(uniform32_ref(seed, offset + i, -2.0, 3.0)) for i in range(n)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("offset", [0, 1, 2**32 - 1, 2**63 + 7])
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-0.05, 0.05)])
def test_uniform_float64_layout(seed, offset, low, high):
    n = 5
    got = R.uniform(n, low, high, seed=seed, offset=offset, dtype=np.float64)
    assert got.tolist() == [uniform64_ref(seed, offset + i, low, high) for i in range(n)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("offset", [0, 1, 2**32 - 1, 2**63 + 7])
def test_normal_layout(seed, offset):
    """Box-Muller values against math.log/cos/sin in float64.

    fastnn uses its own log and sincos (a few ulp); libm's are within an ulp; forming 2*pi*u2
    in double costs ~1e-16 absolute in the angle. Hence rtol 1e-12 with a 1e-13 absolute floor
    for values near zero.
    """
    n = 9
    got = R.normal(n, seed=seed, offset=offset, dtype=np.float64)
    expected = [normal_ref(seed, offset + i) for i in range(n)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
    got = R.normal(n, -1.0, 4.0, seed=seed, offset=offset, dtype=np.float64)
    np.testing.assert_allclose(got, [-1.0 + 4.0 * z for z in expected], rtol=1e-12, atol=1e-12)


def test_truncated_normal_layout_with_redraws():
    """Rejected values are redrawn from attempts 1, 2, ... of their own block and slot."""
    seed, n = 987654321, 400
    expected = [truncated_normal_ref(seed, p) for p in range(n)]
    redrawn = [p for p, (_, attempt) in enumerate(expected) if attempt > 0]
    # P(|z| > 2) = 0.0455: about 18 redraws expected; make sure some are exercised.
    assert len(redrawn) >= 3
    got = R.truncated_normal(n, seed=seed, dtype=np.float64)
    np.testing.assert_allclose(got, [z for z, _ in expected], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["normal", "truncated_normal"])
def test_normal_float32_is_the_rounded_float64_stream(kind):
    """Both dtypes take two normals per block; float32 is the same double rounded once."""
    for offset in (0, 3):
        x64 = draw(kind, 10_001, np.float64, seed=77, offset=offset)
        x32 = draw(kind, 10_001, np.float32, seed=77, offset=offset)
        np.testing.assert_array_equal(x32, x64.astype(np.float32))


def test_truncated_normal_equals_normal_where_accepted():
    """Attempt 0 of a truncated normal is the normal stream; only values beyond 2 std change."""
    z = R.normal(100_000, seed=5, dtype=np.float64)
    t = R.truncated_normal(100_000, seed=5, dtype=np.float64)
    inside = np.abs(z) <= 2.0
    np.testing.assert_array_equal(t[inside], z[inside])
    assert not np.any(t[~inside] == z[~inside])


# --------------------------------------------------------------------------------------------
# Windows, shapes, thread counts, seeds and offsets.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, dtype", KINDS, ids=KIND_IDS)
def test_windows_equal_slices_of_a_longer_call(kind, dtype):
    """A call with offset o equals [o:] of a call with offset 0 (n spans several parallel chunks)."""
    n = 100_003
    full = draw(kind, n, dtype, seed=2024)
    for offset in (1, 3, 7, 16_385, 65_537):
        np.testing.assert_array_equal(draw(kind, n - offset, dtype, seed=2024, offset=offset), full[offset:])
        np.testing.assert_array_equal(draw(kind, 5, dtype, seed=2024, offset=offset), full[offset:offset + 5])


@pytest.mark.parametrize("kind, dtype", KINDS, ids=KIND_IDS)
def test_shape_is_filled_in_c_order(kind, dtype):
    flat = draw(kind, 3 * 5 * 7, dtype, seed=11, offset=3)
    shaped = draw(kind, (3, 5, 7), dtype, seed=11, offset=3)
    assert shaped.shape == (3, 5, 7) and shaped.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(shaped.ravel(), flat)


@pytest.mark.parametrize("kind, dtype", KINDS, ids=KIND_IDS)
def test_empty_and_scalar_shapes(kind, dtype):
    assert draw(kind, (0,), dtype, seed=1).shape == (0,)
    assert draw(kind, (4, 0, 3), dtype, seed=1).shape == (4, 0, 3)
    scalar = draw(kind, (), dtype, seed=1, offset=9)
    assert scalar.shape == ()
    np.testing.assert_array_equal(scalar, draw(kind, 10, dtype, seed=1)[9])


@pytest.mark.parametrize("kind, dtype", KINDS, ids=KIND_IDS)
def test_bitwise_identical_for_any_thread_count(kind, dtype):
    """300_001 elements are split across threads (grain 2**14 or 2**15 items)."""
    results = []
    for threads in (1, 2, 3):
        with num_threads(threads):
            results.append([draw(kind, 300_001, dtype, seed=99, offset=offset) for offset in (0, 5)])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_set_num_threads_is_restored():
    before = fastnn.get_num_threads()
    with num_threads(1):
        assert fastnn.get_num_threads() == 1
    assert fastnn.get_num_threads() == before


SEED_PAIRS = [(0, 1), (1, 2**32), (5, 2**32 + 5), (0, 2**63), (2**64 - 1, 2**64 - 2)]


@pytest.mark.parametrize("seed_a, seed_b", SEED_PAIRS)
def test_distinct_seeds_give_distinct_streams(seed_a, seed_b):
    """Both key words matter. Independent words agree with probability 2**-32, so 1e5 pairs
    agree about 2e-5 times; three or more agreements has probability ~1e-15."""
    a = R.random_bits(100_000, seed=seed_a)
    b = R.random_bits(100_000, seed=seed_b)
    assert np.count_nonzero(a == b) <= 2
    for kind, dtype in KINDS[1:]:
        assert np.count_nonzero(draw(kind, 1000, dtype, seed=seed_a) == draw(kind, 1000, dtype, seed=seed_b)) <= 2


@pytest.mark.parametrize("offset", [1, 2, 4, 4 * 2**32, 2**63, 2**64 - 100_000])
def test_distinct_offsets_give_distinct_streams(offset):
    """Shifted streams are not the same stream: 4 * 2**32 only changes the counter's second word."""
    a = R.random_bits(100_000, seed=3)
    b = R.random_bits(100_000, seed=3, offset=offset)
    assert np.count_nonzero(a == b) <= 2


# --------------------------------------------------------------------------------------------
# Uniform.
# --------------------------------------------------------------------------------------------

# Ranges where rounding low + span * u to the dtype would return `high` unless kept below it:
# [1024, 1025) in float32 (ulp 2**-13) rounds up for u > 1 - 2**-14, about 60 of 1e6 draws;
# [2**40, 2**40 + 1) in float64 (ulp 2**-12) for u > 1 - 2**-13, about 120 of 1e6;
# [1, 1.0000001) in float32 and [1, 1 + 2**-52) in float64 span one ulp: half the draws would.
# ([1, 2) in float32 rounds up only at u = 1 - 2**-24: see the test after this one.)
ADVERSARIAL_RANGES = [
    (0.0, 1.0, np.float32), (1.0, 2.0, np.float32), (1.0, 1.0000001, np.float32),
    (-0.05, 0.05, np.float32), (1024.0, 1025.0, np.float32), (-1e30, 1e30, np.float32),
    (-3e38, 3e38, np.float32),  # the span overflows float32 but not the double arithmetic
    (0.0, 1.0, np.float64), (-0.05, 0.05, np.float64), (2.0**40, 2.0**40 + 1.0, np.float64),
    (1.0, 1.0 + 2.0**-52, np.float64), (-1e300, 1e300, np.float64),
]


@pytest.mark.parametrize("low, high, dtype", ADVERSARIAL_RANGES)
def test_uniform_stays_in_half_open_range(low, high, dtype):
    x = R.uniform(1_000_000, low, high, seed=8, dtype=dtype)
    lo, hi = np.dtype(dtype).type(low), np.dtype(dtype).type(high)
    assert x.dtype == np.dtype(dtype)
    assert np.all(x >= lo)
    assert np.all(x < hi)


def _position_of_largest_float32_draw(seed):
    """A position whose word has all top 24 bits set (u = 1 - 2**-24), found with random_bits.

    Such a word has probability 2**-24; scanning 2**22 words at a time finds one in ~4 chunks.
    """
    chunk = 2**22
    for start in range(0, 2**28, chunk):
        words = R.random_bits(chunk, seed=seed, offset=start)
        hits = np.flatnonzero((words >> 8) == 0xFFFFFF)
        if hits.size:
            return start + int(hits[0])
    raise AssertionError("no word with 24 top bits set in 2**28 draws")


def test_uniform_float32_largest_draw_stays_below_high():
    """u = 1 - 2**-24, the largest float32 draw. On [0, 1) it is exact; on [1, 2) and
    [1024, 1025) low + span * u rounds to high in float32 (checked on the reference), and the
    fill must return the float just below high instead; elsewhere it is the rounded value."""
    seed = 4242
    position = _position_of_largest_float32_draw(seed)
    assert word_ref(seed, position) >> 8 == 0xFFFFFF  # the reference agrees on the word
    x = R.uniform(1, 0.0, 1.0, seed=seed, offset=position)
    assert x[0] == np.float32(1.0 - 2.0**-24)
    for low, high, rounds_up in [(1.0, 2.0, True), (1024.0, 1025.0, True), (-0.05, 0.05, False), (-3.0, 5.0, False)]:
        hi = np.float32(high)
        rounded = uniform32_ref(seed, position, float(np.float32(low)), float(hi))
        assert (rounded == hi) == rounds_up
        expected = np.nextafter(hi, np.float32(-np.inf)) if rounds_up else rounded
        x = R.uniform(1, low, high, seed=seed, offset=position)
        assert x[0] < hi
        assert x[0] == expected


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-0.05, 0.05), (2.0, 5.0)])
def test_uniform_distribution(dtype, low, high):
    """KS against U(low, high) on 1e5 draws, and the moments (var = w**2 / 12, mu4 = w**4 / 80)."""
    x = R.uniform(100_000, low, high, seed=31, dtype=dtype)
    width = high - low
    assert_ks(x, stats.uniform(loc=low, scale=width).cdf)
    assert_moments(x, (low + high) / 2, width**2 / 12, width**4 / 80)


def test_uniform_float32_low_bits_are_equidistributed():
    """The 24-bit integer behind a float32 draw on [0, 1): its low 4 and low 8 bits are uniform."""
    x = R.uniform(1_000_000, seed=17, dtype=np.float32)
    k = (x.astype(np.float64) * 2**24).astype(np.int64)
    assert np.all(k.astype(np.float64) == x.astype(np.float64) * 2**24)  # exact multiples of 2**-24
    assert_equidistributed(k % 16, 16)
    assert_equidistributed(k % 256, 256)
    assert_equidistributed(k >> 16, 256)  # and the top bits


def test_uniform_float64_low_bits_are_equidistributed():
    x = R.uniform(1_000_000, seed=17, dtype=np.float64)
    k = (x * 2**53).astype(np.int64)
    assert np.all(k.astype(np.float64) == x * 2**53)
    assert_equidistributed(k % 16, 16)
    assert_equidistributed(k % 256, 256)


def test_random_bits_are_equidistributed():
    """Low byte, top byte, and each of the 32 bit positions (binomial with p = 1/2)."""
    w = R.random_bits(1_000_000, seed=23)
    assert_equidistributed(w & 0xF, 16)
    assert_equidistributed(w & 0xFF, 256)
    assert_equidistributed(w >> 24, 256)
    # Per-bit test: 32 tests at 1e-8 per side keeps the whole below 1e-6.
    for bit in range(32):
        assert_binomial(int(np.count_nonzero((w >> np.uint32(bit)) & np.uint32(1))), w.size, 0.5, tail=1e-8)


# --------------------------------------------------------------------------------------------
# Normal.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 + 7, 2**64 - 3])
def test_normal_distribution(dtype, seed):
    """KS against N(mean, std) and moments (mu4 = 3 std**4) on 1e5 draws, five seeds."""
    mean, std = 1.5, 2.5
    x = R.normal(100_000, mean, std, seed=seed, dtype=dtype)
    assert_ks(x, stats.norm(loc=mean, scale=std).cdf)
    assert_moments(x, mean, std**2, 3 * std**4)


TAIL_THRESHOLDS = (1.0, 2.0, 3.0, 4.0, 5.0)
NEAR_ZERO_THRESHOLDS = (1e-3, 1e-5)


@pytest.fixture(scope="module")
def many_normals():
    """Counts over 10**8 float64 standard normals, drawn and counted in chunks of 2**21 (one
    call each, at consecutive offsets; 16 MB, small enough for malloc to reuse the memory instead
    of faulting in fresh pages), so no 800 MB array is ever held: about 6300 draws beyond
    4 sigma and 57 beyond 5 sigma are expected. Returns (n, {threshold: count of |z| > t},
    {threshold: count of |z| < t}, max |z|)."""
    n, chunk = 10**8, 2**21
    above = dict.fromkeys(TAIL_THRESHOLDS, 0)
    below = dict.fromkeys(NEAR_ZERO_THRESHOLDS, 0)
    largest = 0.0
    for start in range(0, n, chunk):
        z = R.normal(min(chunk, n - start), seed=314159, offset=start, dtype=np.float64)
        np.abs(z, out=z)
        for t in TAIL_THRESHOLDS:
            above[t] += int(np.count_nonzero(z > t))
        for t in NEAR_ZERO_THRESHOLDS:
            below[t] += int(np.count_nonzero(z < t))
        largest = max(largest, float(z.max()))
    return n, above, below, largest


@pytest.mark.parametrize("threshold", TAIL_THRESHOLDS)
def test_normal_tail_mass(many_normals, threshold):
    """P(|z| > t) = 2 sf(t) over 10**8 draws, checked with an exact binomial test (1e-7 per tail)."""
    n, above, _, _ = many_normals
    assert_binomial(above[threshold], n, 2 * stats.norm.sf(threshold))


@pytest.mark.parametrize("threshold", NEAR_ZERO_THRESHOLDS)
def test_normal_has_no_hole_near_zero(many_normals, threshold):
    """P(|z| < t) = 2 (Phi(t) - 1/2): ~80000 and ~800 draws expected in 10**8."""
    n, _, below, _ = many_normals
    p = 2 * (stats.norm.cdf(threshold) - 0.5)
    assert_binomial(below[threshold], n, p)


def test_normal_is_bounded_by_the_smallest_u1(many_normals):
    """u1 >= 2**-53, so |z| <= sqrt(-2 ln 2**-53) = 8.5717 (the documented ~8.5 sigma)."""
    assert many_normals[3] <= math.sqrt(106 * math.log(2)) * (1 + 1e-12)


def _float_power_sum(k, dtype):
    """sum over values v of dtype of p_v**k, p_v the probability that a rounded N(0, 1) draw is v.

    A value in the binade [2**e, 2**(e+1)) takes p_v ~ phi(v) * ulp, ulp = 2**(e - mantissa
    bits), so the sum is, over binades, ulp**(k-1) times the integral of phi**k, and
    phi**k = (2 pi)**(-(k-1)/2) / sqrt(k) times the N(0, 1/k) density.
    """
    info = np.finfo(dtype)
    total = 0.0
    for e in range(-300, 4):  # |z| < 8.6 < 2**4; below 2**-300 the mass is nil
        a, b = 2.0**e, 2.0 ** (e + 1)
        ulp = 2.0 ** (max(e, info.minexp) - info.nmant)
        mass = stats.norm.cdf(b * math.sqrt(k)) - stats.norm.cdf(a * math.sqrt(k))
        total += 2 * ulp ** (k - 1) * (2 * math.pi) ** (-(k - 1) / 2) / math.sqrt(k) * mass
    return total


def _expected_duplicates(n, dtype):
    """E[n - #distinct] = C(n, 2) sum p_v**2 - C(n, 3) sum p_v**3 + ... (inclusion-exclusion)."""
    return math.comb(n, 2) * _float_power_sum(2, dtype) - math.comb(n, 3) * _float_power_sum(3, dtype)


def test_normal_float64_values_do_not_repeat():
    """1e6 float64 normals: rounding alone makes ~1.3e-5 coincidences expected, so two or more
    (Poisson probability ~1e-10) mean the generator has too few random bits."""
    n = 1_000_000
    assert _expected_duplicates(n, np.float64) < 2e-5
    x = R.normal(n, seed=2718, dtype=np.float64)
    _, counts = np.unique(x, return_counts=True)
    assert n - counts.size <= 1
    assert counts.max() <= 2


def test_normal_float32_repeats_as_often_as_chance_allows():
    """1e6 float32 normals: ~6800 coincidences are expected from rounding to float32 alone.

    The number of duplicates is near-Poisson: it must be within 7 standard deviations of the
    expectation (a generator with fewer random bits, e.g. 24-bit uniforms, repeats far more).
    The expected number of values drawn 7 or more times, C(n, 7) sum p_v**7, is ~1e-8, so the
    largest count must be at most 6.
    """
    n = 1_000_000
    x = R.normal(n, seed=2718, dtype=np.float32)
    _, counts = np.unique(x, return_counts=True)
    expected = _expected_duplicates(n, np.float32)
    assert 6000 < expected < 7500  # sanity of the computation above
    assert math.comb(n, 7) * _float_power_sum(7, np.float32) < 1e-7
    duplicates = n - counts.size
    assert abs(duplicates - expected) < 7 * math.sqrt(expected), (duplicates, expected)
    assert counts.max() <= 6


@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_with_zero_std_is_the_mean(dtype):
    np.testing.assert_array_equal(R.normal(100, 3.25, 0.0, seed=1, dtype=dtype), np.full(100, 3.25, dtype))
    np.testing.assert_array_equal(R.truncated_normal(100, -3.25, 0.0, seed=1, dtype=dtype), np.full(100, -3.25, dtype))


# --------------------------------------------------------------------------------------------
# Truncated normal.
# --------------------------------------------------------------------------------------------


def test_truncated_normal_std_constant():
    """The docstring's 0.87962566: sqrt(1 - 4 phi(2) / (2 Phi(2) - 1)), the std of N(0,1) on [-2, 2]."""
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    by_hand = math.sqrt(1 - 4 * phi2 / mass)
    assert by_hand == pytest.approx(0.87962566103423978, rel=1e-14)
    assert stats.truncnorm(-2, 2).std() == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 + 7, 2**64 - 3])
def test_truncated_normal_distribution(dtype, seed):
    mean, std = -0.75, 1.25
    x = R.truncated_normal(100_000, mean, std, seed=seed, dtype=dtype)
    # mean + std * z with |z| <= 2, rounded monotonically: within the rounded bounds.
    assert np.all(x >= np.dtype(dtype).type(mean - 2 * std))
    assert np.all(x <= np.dtype(dtype).type(mean + 2 * std))
    dist = stats.truncnorm(-2, 2, loc=mean, scale=std)
    assert_ks(x, dist.cdf)
    assert_moments(x, mean, (0.87962566 * std) ** 2, stats.truncnorm(-2, 2).moment(4) * std**4)


# --------------------------------------------------------------------------------------------
# Bad inputs.
# --------------------------------------------------------------------------------------------

FILLS = [
    pytest.param(lambda **kw: R.random_bits(kw.pop("shape", 3), **kw), id="random_bits"),
    pytest.param(lambda **kw: R.uniform(kw.pop("shape", 3), **kw), id="uniform"),
    pytest.param(lambda **kw: R.normal(kw.pop("shape", 3), **kw), id="normal"),
    pytest.param(lambda **kw: R.truncated_normal(kw.pop("shape", 3), **kw), id="truncated_normal"),
]

COMMON_BAD = [
    ({"shape": (2, -1), "seed": 0}, ValueError, "shape"),
    ({"shape": -3, "seed": 0}, ValueError, "shape"),
    ({"shape": (2.0, 3), "seed": 0}, TypeError, "shape"),
    ({"shape": 2.5, "seed": 0}, TypeError, "shape"),
    ({"shape": "abc", "seed": 0}, TypeError, "shape"),
    ({"shape": (True, 3), "seed": 0}, TypeError, "shape"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 2**64}, ValueError, "seed"),
    ({"seed": 1.0}, TypeError, "seed"),
    ({"seed": "1"}, TypeError, "seed"),
    ({"seed": True}, TypeError, "seed"),
    ({"seed": None}, TypeError, "seed"),
    ({"seed": 0, "offset": -1}, ValueError, "offset"),
    ({"seed": 0, "offset": 2**64 - 2}, ValueError, "offset"),  # size 3: last position 2**64
    ({"seed": 0, "offset": 2**64}, ValueError, "offset"),
    ({"seed": 0, "offset": 1.0}, TypeError, "offset"),
]


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("kwargs, error, match", COMMON_BAD)
def test_bad_common_arguments(fill, kwargs, error, match):
    with pytest.raises(error, match=match):
        fill(**dict(kwargs))


@pytest.mark.parametrize("fill", FILLS)
def test_last_position_of_the_stream_is_allowed(fill):
    assert fill(seed=0, offset=2**64 - 3).shape == (3,)


@pytest.mark.parametrize("fill", FILLS)
def test_empty_draw_at_the_end_of_the_stream(fill):
    try:
        out = fill(shape=0, seed=0, offset=2**64)
    except ValueError as error:  # acceptable: a clear message naming the argument
        assert "offset" in str(error)
    else:
        assert out.shape == (0,)


FLOAT_FILLS = FILLS[1:]


@pytest.mark.parametrize("fill", FLOAT_FILLS)
@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.float16, np.complex64, "int64", bool, "not a dtype"])
def test_non_float_dtype_raises(fill, dtype):
    with pytest.raises(TypeError, match="dtype"):
        fill(seed=0, dtype=dtype)


@pytest.mark.parametrize("fill", FLOAT_FILLS)
@pytest.mark.parametrize("dtype", ["float32", "float64", np.dtype(np.float64)])
def test_dtype_likes_are_accepted(fill, dtype):
    assert fill(seed=0, dtype=dtype).dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    "call, error, match",
    [
        pytest.param(lambda: R.uniform(3, 1.0, 1.0, seed=0), ValueError, "low", id="uniform-low-0"),
        pytest.param(lambda: R.uniform(3, 2.0, 1.0, seed=0), ValueError, "low", id="uniform-low-1"),
        # distinct doubles, the same float32: no float32 lies in [low, high)
        pytest.param(lambda: R.uniform(3, 1.0, 1.00000001, seed=0, dtype=np.float32), ValueError, "low", id="uniform-low-2"),
        pytest.param(lambda: R.uniform(3, float("nan"), 1.0, seed=0), ValueError, "low", id="uniform-low-3"),
        pytest.param(lambda: R.uniform(3, 0.0, float("nan"), seed=0), ValueError, "high", id="uniform-high-4"),
        pytest.param(lambda: R.uniform(3, float("-inf"), 1.0, seed=0), ValueError, "low", id="uniform-low-5"),
        pytest.param(lambda: R.uniform(3, 0.0, float("inf"), seed=0), ValueError, "high", id="uniform-high-6"),
        pytest.param(lambda: R.uniform(3, -1e308, 1e308, seed=0, dtype=np.float64), ValueError, "low", id="uniform-low-7"),  # span overflows
        pytest.param(lambda: R.uniform(3, "0", 1.0, seed=0), TypeError, "low", id="uniform-low-8"),
        pytest.param(lambda: R.uniform(3, 0.0, None, seed=0), TypeError, "high", id="uniform-high-9"),
        pytest.param(lambda: R.normal(3, float("nan"), 1.0, seed=0), ValueError, "mean", id="normal-mean-10"),
        pytest.param(lambda: R.normal(3, 0.0, float("inf"), seed=0), ValueError, "std", id="normal-std-11"),
        pytest.param(lambda: R.normal(3, 0.0, float("nan"), seed=0), ValueError, "std", id="normal-std-12"),
        pytest.param(lambda: R.normal(3, 0.0, -1.0, seed=0), ValueError, "std", id="normal-std-13"),
        pytest.param(lambda: R.normal(3, 0.0, True, seed=0), TypeError, "std", id="normal-std-14"),
        pytest.param(lambda: R.truncated_normal(3, float("inf"), 1.0, seed=0), ValueError, "mean", id="truncated_normal-mean-15"),
        pytest.param(lambda: R.truncated_normal(3, 0.0, -0.5, seed=0), ValueError, "std", id="truncated_normal-std-16"),
        pytest.param(lambda: R.truncated_normal(3, 0.0, float("nan"), seed=0), ValueError, "std", id="truncated_normal-std-17"),
    ],
)
def test_bad_distribution_parameters(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("low, high", [(-1e39, 0.0), (0.0, 1e39)])
def test_uniform_float32_bounds_that_overflow_float32_raise(low, high):
    with pytest.raises(ValueError, match="overflows float32"):
        R.uniform(5, low, high, seed=0, dtype=np.float32)


@pytest.mark.parametrize("fill", [R.normal, R.truncated_normal])
@pytest.mark.parametrize("mean, std", [(1e39, 1.0), (0.0, 1e39)])
def test_normal_float32_parameters_that_overflow_float32_raise(fill, mean, std):
    with pytest.raises(ValueError, match="overflows float32"):
        fill(5, mean, std, seed=0, dtype=np.float32)


@pytest.mark.parametrize(
    "counter, key, error, match",
    [
        ([0, 0, 0], [0, 0], ValueError, "counter"),
        ([0, 0, 0, 0, 0], [0, 0], ValueError, "counter"),
        ([0, 0, 0, 0], [0], ValueError, "key"),
        ([0, 0, 0, 0], [0, 0, 0], ValueError, "key"),
        ([0, 0, 0, 2**32], [0, 0], ValueError, "counter"),
        ([0, 0, 0, -1], [0, 0], ValueError, "counter"),
        ([0, 0, 0, 0], [2**32, 0], ValueError, "key"),
        ([0, 0, 0, 0], [0, -1], ValueError, "key"),
        ([0, 0, 0, 1.5], [0, 0], TypeError, "counter"),
        ([0, 0, 0, 0], [0, 0.0], TypeError, "key"),
        (5, [0, 0], TypeError, "counter"),
        ([0, 0, 0, 0], None, TypeError, "key"),
    ],
)
def test_philox_bad_arguments(counter, key, error, match):
    with pytest.raises(error, match=match):
        R.philox4x32(counter, key)


def test_philox_accepts_numpy_words():
    out = R.philox4x32(np.array([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], np.uint32),
                       np.array([0xA4093822, 0x299F31D0], np.uint64))
    assert [int(v) for v in out] == list(KAT_VECTORS[2][2])


def test_new_seed_is_a_64_bit_int():
    seeds = {R.new_seed() for _ in range(8)}
    assert all(isinstance(s, int) and 0 <= s < 2**64 for s in seeds)
    assert len(seeds) == 8  # 8 draws from 2**64 collide with probability ~1.5e-18
