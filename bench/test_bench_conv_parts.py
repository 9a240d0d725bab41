"""Batch normalization and 2x2 pooling on a (64, 32, 32, 64) float32 channels-last batch.

- batchnorm forward (training: batch statistics) and backward (dx, dgamma, dbeta):
  fastnn ``ops.batch_norm`` / ``ops.batch_norm_backward``; numpy: the textbook formulas over axes
  (0, 1, 2); torch: ``F.batch_norm(training=True)`` and ``aten.native_batch_norm_backward`` on the
  same memory viewed as a channels_last NCHW tensor. Rate: GB/s of the op's own traffic, each array
  once: forward reads x and writes y (2 * x.nbytes), backward reads x and dy and writes dx (3 * x.nbytes).
  Target (issue 6): >= 15 GB/s each.
- max / average pooling 2x2, stride 2, forward and backward: fastnn ``ops.max_pool`` (forward:
  ``return_argmax=False``, the inference kernel, as PyTorch computes no indices for a tensor that
  needs no gradient) / ``average_pool`` and their backward; numpy: a (n, h/2, 2, w/2, 2, c)
  reshape reduced over the window axes (backward: the window mask / broadcast); torch:
  ``F.max_pool2d`` / ``F.avg_pool2d`` and ``aten.max_pool2d_with_indices_backward`` /
  ``aten.avg_pool2d_backward`` on channels_last tensors. The "with arg-max" group is the training
  forward: fastnn's int32 arg-max against ``F.max_pool2d(return_indices=True)``'s int64 indices.
  Rate: GB/s of input + output (an arg-max or indices is extra traffic, not counted).
  fastnn writes into arrays allocated once (``out=``), as the pooling layers do inside ``fit``;
  PyTorch's caching allocator does the same for its outputs. (With a fresh 4 MB y and 4 MB
  arg-max per call, `perf` put about 20% of max pooling's samples in page faults, 13% of them
  in the kernel zeroing the new pages.)
  Target: >= 1.0x PyTorch.

Every member's result is checked against a float64 NumPy reference before it is timed.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import fastnn

SEED = 20240606
SHAPE = (64, 32, 32, 64)
EPS = 1e-3
ROUNDS = 30


@functools.lru_cache(maxsize=1)
def data():
    rng = np.random.default_rng(SEED)
    x = rng.normal(1.0, 2.0, SHAPE).astype(np.float32)
    dy = rng.normal(size=SHAPE).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, SHAPE[-1]).astype(np.float32)
    beta = rng.normal(size=SHAPE[-1]).astype(np.float32)
    pooled_dy = rng.normal(size=(SHAPE[0], SHAPE[1] // 2, SHAPE[2] // 2, SHAPE[3])).astype(np.float32)
    return x, dy, gamma, beta, pooled_dy


def to_torch(a):
    """A (n, h, w, c) array as a channels_last (n, c, h, w) tensor sharing its memory."""
    import torch

    return torch.from_numpy(a).permute(0, 3, 1, 2)


def from_torch(t):
    return t.permute(0, 2, 3, 1).numpy()


# -- batch normalization ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def bn_reference():
    x, dy, gamma, beta, _ = data()
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    mean, var = x64.mean(axis=(0, 1, 2)), x64.var(axis=(0, 1, 2))
    inverse_std = 1 / np.sqrt(var + EPS)
    x_hat = (x64 - mean) * inverse_std
    y = gamma * x_hat + beta
    dbeta, dgamma = dy64.sum(axis=(0, 1, 2)), (dy64 * x_hat).sum(axis=(0, 1, 2))
    rows = x.size // x.shape[-1]
    dx = gamma * inverse_std * (dy64 - dbeta / rows - x_hat * dgamma / rows)
    return y, mean, var, dx


def bn_forward_fn(member):
    x, _, gamma, beta, _ = data()
    if member == "fastnn":
        return lambda: fastnn.ops.batch_norm(x, gamma, beta, epsilon=EPS)[0]
    if member == "numpy":
        def numpy_forward():
            mean = x.mean(axis=(0, 1, 2))
            centered = x - mean
            inverse_std = 1 / np.sqrt((centered * centered).mean(axis=(0, 1, 2)) + EPS)
            centered *= gamma * inverse_std
            centered += beta
            return centered
        return numpy_forward
    import torch
    import torch.nn.functional as F

    xt, g, b = to_torch(x), torch.from_numpy(gamma), torch.from_numpy(beta)
    return lambda: F.batch_norm(xt, None, None, g, b, training=True, eps=EPS)


def bn_backward_fn(member):
    x, dy, gamma, _, _ = data()
    _, mean, var, _ = bn_reference()
    mean32, var32 = mean.astype(np.float32), var.astype(np.float32)
    if member == "fastnn":
        return lambda: fastnn.ops.batch_norm_backward(dy, x, gamma, mean32, var32, epsilon=EPS)[0]
    if member == "numpy":
        rows = x.size // x.shape[-1]

        def numpy_backward():
            inverse_std = (1 / np.sqrt(var32 + EPS)).astype(np.float32)
            x_hat = (x - mean32) * inverse_std
            dbeta = dy.sum(axis=(0, 1, 2))
            dgamma = (dy * x_hat).sum(axis=(0, 1, 2))
            x_hat *= dgamma / rows
            dx = dy - dbeta / rows
            dx -= x_hat
            dx *= gamma * inverse_std
            return dx
        return numpy_backward
    import torch

    xt, dyt, g = to_torch(x), to_torch(dy), torch.from_numpy(gamma)
    save_mean = torch.from_numpy(mean32)
    save_invstd = torch.from_numpy((1 / np.sqrt(var32 + EPS)).astype(np.float32))

    def torch_backward():
        return torch.ops.aten.native_batch_norm_backward(dyt, xt, g, None, None, save_mean, save_invstd, True, EPS,
                                                        [True, True, True])[0]
    return torch_backward


@pytest.mark.extra_members("copy")
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_batch_norm(measure, check, member, direction):
    x = data()[0]
    if member == "copy":  # the bound: one read and one write of x, np.multiply(x, 2, out=y)
        y = np.empty_like(x)
        measure(lambda: np.multiply(x, 2, out=y), group=f"batchnorm {direction} {SHAPE} f32", member=member,
                work=2 * x.nbytes, unit="byte", rounds=ROUNDS)
        return
    ref_y, _, _, ref_dx = bn_reference()
    fn = (bn_forward_fn if direction == "forward" else bn_backward_fn)(member)
    got = fn()
    got = from_torch(got) if member == "torch" else check.numpy(got)
    want = ref_y if direction == "forward" else ref_dx
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max(),
                               err_msg=f"{member} batchnorm {direction}")
    del got
    arrays = 2 if direction == "forward" else 3
    measure(fn, group=f"batchnorm {direction} {SHAPE} f32", member=member, work=arrays * x.nbytes, unit="byte",
            rounds=ROUNDS)


# -- pooling ----------------------------------------------------------------------------------------------


def windows(a):
    n, h, w, c = a.shape
    return a.reshape(n, h // 2, 2, w // 2, 2, c)


@functools.lru_cache(maxsize=2)
def pool_reference(kind):
    x, _, _, _, pooled_dy = data()
    x6 = windows(x.astype(np.float64))
    if kind == "max":
        y = x6.max(axis=(2, 4))
        mask = x6 == y[:, :, None, :, None]  # normal draws: no ties
        dx = mask * pooled_dy.astype(np.float64)[:, :, None, :, None]
    else:
        y = x6.mean(axis=(2, 4))
        dx = np.broadcast_to(pooled_dy.astype(np.float64)[:, :, None, :, None] / 4, x6.shape)
    return y, dx.reshape(x.shape)


def pool_forward_fn(member, kind):
    x = data()[0]
    if member == "fastnn":
        y = np.empty((x.shape[0], x.shape[1] // 2, x.shape[2] // 2, x.shape[3]), x.dtype)
        if kind == "max":
            return lambda: fastnn.ops.max_pool(x, 2, return_argmax=False, out=y)
        return lambda: fastnn.ops.average_pool(x, 2, out=y)
    if member == "numpy":
        if kind == "max":
            return lambda: windows(x).max(axis=(2, 4))
        return lambda: windows(x).mean(axis=(2, 4))
    import torch.nn.functional as F

    xt = to_torch(x)
    if kind == "max":
        return lambda: F.max_pool2d(xt, 2)
    return lambda: F.avg_pool2d(xt, 2)


def pool_backward_fn(member, kind):
    x, _, _, _, pooled_dy = data()
    if member == "fastnn":
        dx = np.empty_like(x)
        if kind == "max":
            _, argmax = fastnn.ops.max_pool(x, 2)
            return lambda: fastnn.ops.max_pool_backward(pooled_dy, argmax, x.shape, 2, out=dx)
        return lambda: fastnn.ops.average_pool_backward(pooled_dy, x.shape, 2, out=dx)
    if member == "numpy":
        if kind == "max":
            x6 = windows(x)
            y = x6.max(axis=(2, 4))

            def numpy_max_backward():
                mask = x6 == y[:, :, None, :, None]
                return (mask * pooled_dy[:, :, None, :, None]).reshape(x.shape)
            return numpy_max_backward

        def numpy_average_backward():
            spread = np.empty(windows(x).shape, np.float32)
            spread[...] = (pooled_dy * np.float32(0.25))[:, :, None, :, None]
            return spread.reshape(x.shape)
        return numpy_average_backward
    import torch
    import torch.nn.functional as F

    xt, dyt = to_torch(x), to_torch(pooled_dy)
    if kind == "max":
        _, indices = F.max_pool2d(xt, 2, return_indices=True)
        return lambda: torch.ops.aten.max_pool2d_with_indices_backward(dyt, xt, [2, 2], [2, 2], [0, 0], [1, 1], False,
                                                                       indices)
    return lambda: torch.ops.aten.avg_pool2d_backward(dyt, xt, [2, 2], [2, 2], [0, 0], False, True, None)


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_pooling(measure, check, member, kind, direction):
    x = data()[0]
    ref_y, ref_dx = pool_reference(kind)
    fn = (pool_forward_fn if direction == "forward" else pool_backward_fn)(member, kind)
    got = fn()
    got = from_torch(got) if member == "torch" else check.numpy(got)
    want = ref_y if direction == "forward" else ref_dx
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"{member} {kind} pool {direction}")
    del got
    work = x.nbytes + x.nbytes // 4
    measure(fn, group=f"pool {kind} 2x2 {direction} {SHAPE} f32", member=member, work=work, unit="byte",
            rounds=ROUNDS)


def test_max_pooling_forward_with_arg_max(measure, check, member):
    """The forward a training step runs: the maxima and where they came from."""
    if member == "numpy":
        pytest.skip("the NumPy member's reduction keeps no arg-max")
    x = data()[0]
    ref_y, _ = pool_reference("max")
    if member == "fastnn":
        y = np.empty(ref_y.shape, np.float32)
        argmax = np.empty(ref_y.shape, np.int32)
        fn = lambda: fastnn.ops.max_pool(x, 2, out=(y, argmax))[0]  # noqa: E731
    else:
        import torch.nn.functional as F

        xt = to_torch(x)
        fn = lambda: F.max_pool2d(xt, 2, return_indices=True)[0]  # noqa: E731
    got = fn()
    got = from_torch(got) if member == "torch" else check.numpy(got)
    np.testing.assert_allclose(got, ref_y, rtol=1e-6, atol=1e-6, err_msg=f"{member} max pool forward with arg-max")
    del got
    measure(fn, group=f"pool max 2x2 forward with arg-max {SHAPE} f32", member=member,
            work=x.nbytes + x.nbytes // 4, unit="byte", rounds=ROUNDS)
