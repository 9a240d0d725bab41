"""Inverted dropout, p = 0.5, on 64M and 1M float32 elements: forward, and backward given dy.

- fastnn: ``ops.dropout(x, 0.5, seed=..., out=y)``, one streaming pass, no stored mask;
- numpy: ``keep = rng.random(x.shape, dtype=np.float32) >= p``, ``np.multiply(x, keep, out=y)``,
  ``y *= 1 / (1 - p)`` (``rng = np.random.default_rng(...)``);
- torch: ``F.dropout(x, 0.5, training=True)``;
- copy: ``np.multiply(x, 2, out=y)``, the streaming reference: one read and one write of the
  array, what a memory-bound dropout cannot beat.

Backward (dx = dy * mask / (1 - p) for the mask of a forward call made before timing):

- fastnn: ``ops.dropout(dy, 0.5, seed=..., out=dx)``, what ``ops.dropout_backward`` runs (the mask
  is regenerated from the seed: nothing was kept by the forward call);
- numpy: ``np.multiply(dy, keep, out=dx)``, ``dx *= 1 / (1 - p)`` with the forward's bool ``keep``;
- torch: ``torch.ops.aten.native_dropout_backward(dy, mask, 1 / (1 - p))`` with the mask of
  ``torch.ops.aten.native_dropout(x, 0.5, True)``, what autograd runs for ``F.dropout``.

The notes column gives the bytes per element a member keeps from forward to backward.

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


def backward_fn(member, x, dy):
    """(timed callable, the mask it applies as a bool array, bytes kept per element)."""
    scale = np.float32(1.0 / (1.0 - P))
    dx = np.empty_like(dy)
    if member == "fastnn":
        return (lambda: fastnn.ops.dropout(dy, P, seed=SEED, out=dx)), fastnn.ops.dropout_mask(x.shape, P, seed=SEED), 0
    if member == "numpy":
        keep = np.random.default_rng(SEED).random(x.shape, dtype=np.float32) >= P

        def numpy_backward():
            np.multiply(dy, keep, out=dx)
            return np.multiply(dx, scale, out=dx)

        return numpy_backward, keep, keep.itemsize
    if member == "torch":
        torch = pytest.importorskip("torch")
        _, mask = torch.ops.aten.native_dropout(torch.from_numpy(x), P, True)
        dyt = torch.from_numpy(dy)
        return (lambda: torch.ops.aten.native_dropout_backward(dyt, mask, float(scale))), mask.numpy(), mask.element_size()
    if member == "copy":
        return (lambda: np.multiply(dy, 2, out=dx)), None, 0
    raise ValueError(member)


@pytest.mark.extra_members("copy")
@pytest.mark.parametrize(("size", "rounds"), SIZES, ids=[f"{s // 2**20}M" for s, _ in SIZES])
def test_dropout_backward(measure, check, member, size, rounds):
    x = inputs(size)
    dy = x[::-1].copy()  # any gradient without zeros
    fn, keep, kept_bytes = backward_fn(member, x, dy)
    dx = check.numpy(fn())
    what = f"{member} dropout backward p={P} on {size} elements"
    if member == "copy":
        np.testing.assert_array_equal(dx, 2 * dy)
    else:
        np.testing.assert_array_equal(dx != 0, keep, err_msg=what)
        np.testing.assert_allclose(dx[keep], dy[keep] / np.float32(1.0 - P), rtol=1e-6, atol=0, err_msg=what)
        check.fraction(keep.mean(), 1.0 - P, size, what)
    del dx, keep
    note = "" if member == "copy" else f"mask kept: {kept_bytes} B/element"
    measure(fn, group=f"dropout backward p={P} {size // 2**20}M f32", member=member, work=2.0 * x.nbytes,
            unit="byte", rounds=rounds, note=note)
