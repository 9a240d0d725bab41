"""The training loop's whole-array kernels: the finiteness check of fit's inputs and the gather
of each shuffled batch (fastnn._core.all_finite and take_rows), against NumPy."""

import numpy as np
import pytest
from conftest import num_threads

from fastnn import _core

# Around the check's 4096-value blocks and its 65536-value thread grain.
SIZES = [0, 1, 7, 4095, 4096, 4097, 65536, 65537, 2 * 65536 + 3]
NON_FINITE = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
def test_all_finite_of_finite_values(dtype, size):
    rng = np.random.default_rng(size)
    x = rng.standard_normal(size).astype(dtype)
    if size >= 4:  # the extremes of the finite range are finite
        info = np.finfo(dtype)
        x[:4] = [info.max, -info.max, info.smallest_subnormal, -0.0]
    for threads in (1, 2):
        with num_threads(threads):
            assert _core.all_finite(x) is True


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [s for s in SIZES if s > 0])
@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
def test_all_finite_finds_one_non_finite_value_anywhere(dtype, size, value):
    rng = np.random.default_rng(size)
    positions = sorted({0, size // 2, size - 1, int(rng.integers(size))})
    for position in positions:  # the first, middle and last value, and one at random
        x = rng.standard_normal(size).astype(dtype)
        x[position] = value
        assert not np.all(np.isfinite(x))
        for threads in (1, 2):
            with num_threads(threads):
                assert _core.all_finite(x) is False, (position, threads)


def test_all_finite_reads_every_shape():
    x = np.ones((3, 5, 7), np.float32)
    assert _core.all_finite(x)
    x[2, 4, 6] = np.nan
    assert not _core.all_finite(x)


def test_all_finite_rejects_what_it_cannot_read():
    with pytest.raises(TypeError, match=r"`x` must be a float32 or float64 array. Received dtype int64"):
        _core.all_finite(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"`x` must be C-contiguous"):
        _core.all_finite(np.zeros((4, 4), np.float32)[:, ::2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
@pytest.mark.parametrize("shape, count", [((1, 3), 1), ((10, 1), 0), ((60, 784), 128), ((97, 8, 8, 1), 33),
                                          ((50,), 50), ((3000, 40), 1000)])
def test_take_rows_is_np_take(dtype, shape, count):
    rng = np.random.default_rng(count)
    x = (rng.standard_normal(shape) * 100).astype(dtype)
    index = rng.integers(0, shape[0], count).astype(np.int64)  # repeats allowed
    if count >= 2:
        index[:2] = [0, shape[0] - 1]
    want = np.take(x, index, axis=0)
    for threads in (1, 2):
        with num_threads(threads):
            out = np.full((count, *shape[1:]), 7, dtype)
            _core.take_rows(x, index, out)
            np.testing.assert_array_equal(out, want)


BAD_TAKE = {
    "index too large": (lambda x, i, o: (x, np.array([0, 5], np.int64), o), IndexError,
                        r"`index` holds 5 at position 1, outside \[0, 5\)"),
    "negative index": (lambda x, i, o: (x, np.array([-1, 0], np.int64), o), IndexError,
                       r"`index` holds -1 at position 0"),
    "index of int32": (lambda x, i, o: (x, i.astype(np.int32), o), TypeError, r"`index` must have dtype int64"),
    "2-D index": (lambda x, i, o: (x, i[None], o), ValueError, r"`index` must be 1-D"),
    "out too short": (lambda x, i, o: (x, i, o[:1]), ValueError, r"`out` has the wrong shape \(1, 3\)"),
    "out of another width": (lambda x, i, o: (x, i, np.zeros((2, 4), np.float32)), ValueError,
                             r"`out` has the wrong shape \(2, 4\)"),
    "out of another dtype": (lambda x, i, o: (x, i, o.astype(np.float64)), TypeError,
                             r"`out` must have x's dtype float32. Received dtype float64"),
    "strided x": (lambda x, i, o: (np.zeros((5, 6), np.float32)[:, ::2], i, o), ValueError,
                  r"`x` must be C-contiguous"),
    "strided out": (lambda x, i, o: (x, i, np.zeros((2, 6), np.float32)[:, ::2]), ValueError,
                    r"`out` must be C-contiguous"),
    "read-only out": (lambda x, i, o: (x, i, np.lib.stride_tricks.as_strided(o, writeable=False)), ValueError,
                      r"`out` is read-only"),
    "0-D x": (lambda x, i, o: (np.ones((), np.float32), i, o), ValueError,
              r"`x` must be at least 1-D"),
}


@pytest.mark.parametrize("case", list(BAD_TAKE))
def test_take_rows_rejects_bad_arguments(case):
    make, error, message = BAD_TAKE[case]
    x, index, out = np.arange(15, dtype=np.float32).reshape(5, 3), np.array([4, 0], np.int64), np.zeros((2, 3), np.float32)
    before = out.copy()
    with pytest.raises(error, match=message):
        _core.take_rows(*make(x, index, out))
    np.testing.assert_array_equal(out, before)  # nothing written
