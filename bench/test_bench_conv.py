"""Convolution, a small CNN's training epoch, and augmentation.

- conv2d 3x3 "same" + ReLU, forward and backward (dx, dW, db) at (64,32,32,32)->64 and
  (64,16,16,64)->128, float32: fastnn ``ops.conv`` / ``ops.conv_backward``; torch:
  ``F.conv2d`` + ReLU and ``backward()`` on channels_last tensors (oneDNN); numpy: im2col as
  ``sliding_window_view`` + ``tensordot`` (backward: ``tensordot`` for dW, one matmul per kernel
  tap added into a padded dx). Rate: GFLOP/s of the three products, 3 * 2 * N*H*W*F*9*C.
  Targets (issue 6): <= 1.25x PyTorch's time, >= 4x NumPy.
- cnn epoch digits: one epoch (batch 128, reshuffled) over the 1,797 embedded digits of
  Conv(16)-BN-ReLU, Conv(16)-BN-ReLU, MaxPool 2, Residual(Conv-BN-ReLU-Conv-BN), ReLU, global
  average pooling, Dense(10) softmax, Adam; fastnn ``Sequential.fit`` against the same network in
  PyTorch (channels_last, a loop over ``randperm`` batches). No augmentation in either (PyTorch
  has none built in without torchvision). Target: <= PyTorch / 1.5.
- augment rotation+zoom+flip (256,32,32,3): fastnn ``augment.random_affine`` (one resampling
  pass) against a per-image, per-channel ``scipy.ndimage.affine_transform(order=1)`` loop on
  the same matrices. Target: >= 4x the loop.

Each member's result is checked before it is timed.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import fastnn
from fastnn import layers as L

SEED = 20240707
CONV_SHAPES = [(64, 32, 32, 32, 64), (64, 16, 16, 64, 128)]


@functools.lru_cache(maxsize=1)
def conv_case(shape):
    n, h, w, c, f = shape
    rng = np.random.default_rng([SEED, *shape])
    x = rng.standard_normal((n, h, w, c), dtype=np.float32)
    k = (rng.standard_normal((3, 3, c, f), dtype=np.float32) / np.float32(np.sqrt(9 * c))).astype(np.float32)
    b = rng.standard_normal(f, dtype=np.float32) * np.float32(0.1)
    dy = rng.standard_normal((n, h, w, f), dtype=np.float32)
    return x, k, b, dy


def numpy_conv(x, k, b, dy):
    """im2col by sliding_window_view + tensordot; returns (y, dx, dk, db)."""
    pad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(pad, (3, 3), axis=(1, 2))  # (n, h, w, c, 3, 3)
    y = np.tensordot(windows, k, axes=([3, 4, 5], [2, 0, 1])) + b
    np.maximum(y, 0, out=y)
    g = dy * (y > 0)
    dk = np.tensordot(windows, g, axes=([0, 1, 2], [0, 1, 2])).transpose(1, 2, 0, 3)  # (3, 3, c, f)
    dpad = np.zeros_like(pad)
    h, w = x.shape[1:3]
    for i in range(3):
        for j in range(3):
            dpad[:, i:i + h, j:j + w] += g @ k[i, j].T
    return y, dpad[:, 1:-1, 1:-1], dk, g.sum(axis=(0, 1, 2))


def conv_member(member, x, k, b, dy):
    """A function running forward + backward, returning (y, dx, dk, db) as NumPy arrays."""
    if member == "fastnn":
        def run():
            y = fastnn.ops.conv(x, k, b, padding="same", activation="relu")
            return (y, *fastnn.ops.conv_backward(dy, x, k, y, padding="same", activation="relu"))
        return run
    if member == "numpy":
        return lambda: numpy_conv(x, k, b, dy)
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last).requires_grad_()
    kt = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last).requires_grad_()
    bt = torch.from_numpy(b).requires_grad_()
    dyt = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)

    def run():
        for t in (xt, kt, bt):
            t.grad = None
        y = torch.relu(F.conv2d(xt, kt, bt, padding=1))
        y.backward(dyt)
        return (y.detach().permute(0, 2, 3, 1).numpy(), xt.grad.permute(0, 2, 3, 1).numpy(),
                kt.grad.permute(2, 3, 1, 0).numpy(), bt.grad.numpy())
    return run


@pytest.mark.parametrize("shape", CONV_SHAPES, ids=["x".join(map(str, s)) for s in CONV_SHAPES])
def test_conv2d(measure, member, shape):
    x, k, b, dy = conv_case(shape)
    run = conv_member(member, x, k, b, dy)
    got = run()
    want = numpy_conv(*(a.astype(np.float64) for a in (x, k, b, dy)))
    for name, g, r in zip(("y", "dx", "dW", "db"), got, want):
        depth = 9 * shape[3] if name in ("y", "dx") else shape[0] * shape[1] * shape[2]
        bound = 2 * depth * np.finfo(np.float32).eps * max(1.0, float(np.abs(r).max()))
        assert np.abs(g - r).max() <= bound, (member, name, float(np.abs(g - r).max()), bound)
    n, h, w, c, f = shape
    measure(run, group=f"conv2d 3x3 same relu fwd+bwd {n},{h},{w},{c}->{f}", member=member,
            work=3 * 2.0 * n * h * w * f * 9 * c, unit="flop", rounds=5)


# -- a small CNN's epoch -------------------------------------------------------------------------------


def fastnn_cnn(seed):
    def conv_bn(filters):
        return [L.Conv2D(filters, 3, padding="same"), L.BatchNormalization(momentum=0.9)]

    model = fastnn.Sequential([*conv_bn(16), L.ReLU(), *conv_bn(16), L.ReLU(), L.MaxPooling2D(2),
                               L.Residual(*conv_bn(16), L.ReLU(), *conv_bn(16)), L.ReLU(),
                               L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")], seed=seed)
    model.compile(fastnn.optimizers.Adam(0.003), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def torch_cnn(seed):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(seed)

    def conv_bn():
        return [nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16, momentum=0.1, eps=1e-3)]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(), nn.ReLU(), *conv_bn())

        def forward(self, x):
            return self.body(x) + x

    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16, momentum=0.1, eps=1e-3), nn.ReLU(),
                          *conv_bn(), nn.ReLU(), nn.MaxPool2d(2), Block(), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(16, 10)).to(memory_format=torch.channels_last)
    return model, torch.optim.Adam(model.parameters(), lr=0.003, eps=1e-7)


def test_cnn_epoch(measure, member):
    if member == "numpy":
        pytest.skip("no NumPy member: a CNN by hand in NumPy is not a baseline anyone runs")
    x, y = fastnn.datasets.load_digits(as_images=True)
    if member == "fastnn":
        model = fastnn_cnn(0)
        first = model.evaluate(x, y)["loss"]
        model.fit(x, y, epochs=2, batch_size=128, verbose=0)
        after = model.evaluate(x, y)["loss"]

        def run():
            model.fit(x, y, epochs=1, batch_size=128, verbose=0)
    else:
        import torch

        model, optimizer = torch_cnn(0)
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        yt = torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()

        def evaluate():
            model.eval()
            with torch.no_grad():
                value = float(loss_fn(model(xt), yt))
            model.train()
            return value

        def run():
            for index in torch.randperm(len(xt)).split(128):
                optimizer.zero_grad()
                loss = loss_fn(model(xt[index]), yt[index])
                loss.backward()
                optimizer.step()
                float(loss.detach())  # as fit reports each batch's loss

        first = evaluate()
        run()
        run()
        after = evaluate()
    assert after < first - 0.3, (member, first, after)  # two epochs learn something
    measure(run, group="cnn epoch digits B=128 N=1797", member=member, work=len(x), unit="ksample", rounds=5)


# -- augmentation --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def augment_case():
    rng = np.random.default_rng(SEED)
    images = rng.random((256, 32, 32, 3), dtype=np.float32)
    settings = dict(flip="horizontal", rotation=0.1, zoom=0.2)
    u = fastnn.random.uniform((256, fastnn.augment.DRAWS_PER_IMAGE), seed=5, dtype=np.float64)
    theta = 2 * np.pi * (-0.1 + 0.2 * u[:, 2])
    scale = 1 + (-0.2 + 0.4 * u[:, 3])
    flip = np.where(u[:, 0] < 0.5, -1.0, 1.0)
    ones, zeros = np.ones(256), np.zeros(256)
    matrices = fastnn.augment._compose(32, 32, ones, flip, theta, scale, scale, zeros, zeros)
    return images, settings, matrices


@pytest.mark.extra_members("scipy")
def test_augment(measure, member):
    if member in ("numpy", "torch"):
        pytest.skip("the baseline is scipy.ndimage (NumPy has no resampling; PyTorch's needs torchvision)")
    images, settings, matrices = augment_case()
    if member == "fastnn":
        def run():
            return fastnn.augment.random_affine(images, seed=5, fill_mode="reflect", **settings)
    else:
        ndimage = pytest.importorskip("scipy.ndimage")
        out = np.empty_like(images)

        def run():
            for n in range(len(images)):
                for c in range(images.shape[-1]):
                    ndimage.affine_transform(images[n, :, :, c], matrices[n, :, :2], offset=matrices[n, :, 2], order=1,
                                             mode="reflect", output=out[n, :, :, c])
            return out
    np.testing.assert_allclose(run(), augment_reference(), atol=1e-5)
    measure(run, group="augment rotation+zoom+flip 256,32,32,3", member=member, work=len(images), unit="ksample",
            rounds=10)


@functools.lru_cache(maxsize=1)
def augment_reference():
    """The float64 resampling of every image (scipy), for both members' checks."""
    ndimage = pytest.importorskip("scipy.ndimage")
    images, _, matrices = augment_case()
    reference = np.empty(images.shape)
    for n in range(len(images)):
        for c in range(images.shape[-1]):
            reference[n, :, :, c] = ndimage.affine_transform(images[n, :, :, c].astype(np.float64), matrices[n, :, :2],
                                                             offset=matrices[n, :, 2], order=1, mode="reflect")
    return reference
