"""Inverted dropout, p = 0.5, on 64M and 1M float32 elements.

- fastnn: ``ops.dropout(x, 0.5, seed=..., out=y)``, one streaming pass, no stored mask;
- numpy: ``keep = rng.random(x.shape, dtype=np.float32) >= p``, ``np.multiply(x, keep, out=y)``,
  ``y *= 1 / (1 - p)`` (``rng = np.random.default_rng(...)``);
- torch: ``F.dropout(x, 0.5, training=True)``;
- copy: ``np.multiply(x, 2, out=y)``, the streaming reference: one read and one write of the
  array, what a memory-bound dropout cannot beat.

The rate figure is GB/s of the op's own traffic, 2 * x.nbytes (read x, write y), whatever
temporaries a member makes. Before timing, each member's output is checked: dropped elements are
0, kept ones are x / (1 - p), and the kept fraction is 1 - p within 6 standard errors; fastnn's
mask must also be exactly ``ops.dropout_mask`` for the same seed.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import fastnn

SEED = 20240503
P = 0.5

# (elements, pedantic rounds or None for pytest-benchmark's own calibration)
SIZES = [(64 * 2**20, 5), (2**20, None)]


@functools.lru_cache(maxsize=1)
def inputs(size):
    rng = np.random.default_rng([SEED, size])
    x = rng.random(size, dtype=np.float32)
    x += np.float32(0.5)  # in [0.5, 1.5): no zeros, so a zero output means dropped
    return x


def member_fn(member, x):
    scale = np.float32(1.0 / (1.0 - P))
    if member == "fastnn":
        y = np.empty_like(x)
        return lambda: fastnn.ops.dropout(x, P, seed=SEED, out=y)
    if member == "numpy":
        rng = np.random.default_rng(SEED)
        y = np.empty_like(x)

        def numpy_dropout():
            keep = rng.random(x.shape, dtype=np.float32) >= P
            np.multiply(x, keep, out=y)
            return np.multiply(y, scale, out=y)  # y *= 1 / (1 - p)

        return numpy_dropout
    if member == "torch":
        torch = pytest.importorskip("torch")
        xt = torch.from_numpy(x)
        return lambda: torch.nn.functional.dropout(xt, P, training=True)
    if member == "copy":
        y = np.empty_like(x)
        return lambda: np.multiply(x, 2, out=y)
    raise ValueError(member)


@pytest.mark.extra_members("copy")
@pytest.mark.parametrize(("size", "rounds"), SIZES, ids=[f"{s // 2**20}M" for s, _ in SIZES])
def test_dropout(measure, check, member, size, rounds):
    x = inputs(size)
    fn = member_fn(member, x)
    y = check.numpy(fn())
    what = f"{member} dropout p={P} on {size} elements"
    if member == "copy":
        np.testing.assert_array_equal(y, 2 * x)
    else:
        kept = y != 0
        np.testing.assert_allclose(y[kept], x[kept] / np.float32(1.0 - P), rtol=1e-6, atol=0, err_msg=what)
        check.fraction(kept.mean(), 1.0 - P, size, what)
        if member == "fastnn":
            np.testing.assert_array_equal(kept, fastnn.ops.dropout_mask(x.shape, P, seed=SEED), err_msg=what)
        del kept
    del y
    measure(fn, group=f"dropout p={P} {size // 2**20}M f32", member=member, work=2.0 * x.nbytes, unit="byte",
            rounds=rounds)
