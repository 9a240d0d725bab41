"""The fused dense layer: relu(x @ W + b) then inverted dropout 0.5, at (B, K, N) = (256, 1024, 1024).

- fastnn: ``ops.linear(x, w, b, activation="relu", dropout=0.5, seed=..., out=y)``, one pass;
- numpy: the in-place composition ``np.matmul(x, w, out=y); y += b; np.maximum(y, 0, out=y)``,
  then the mask ``rng.random(y.shape, dtype=np.float32) >= p`` and ``y *= mask; y *= 1 / (1 - p)``;
- torch: ``F.dropout(F.relu(torch.addmm(b, x, w)), 0.5, training=True)`` (as idiomatic PyTorch
  writes it: each step allocates its output).

Before timing each member's result is checked against a float64 ``relu(x @ W + b)``: kept
elements equal it times 1 / (1 - p) within the GEMM rounding bound, dropped ones are 0, and the
kept fraction (among elements surely positive before dropout) is 1 - p within 6 standard errors.
fastnn's mask must also be exactly ``ops.dropout_mask`` for the same seed.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import fastnn

SEED = 20240502
P = 0.5
SHAPE = (256, 1024, 1024)  # (B, K, N)
ROUNDS = 10


@functools.lru_cache(maxsize=1)
def case():
    batch, k_in, n_out = SHAPE
    rng = np.random.default_rng([SEED, batch, k_in, n_out])
    x = rng.standard_normal((batch, k_in), dtype=np.float32)
    w = (rng.standard_normal((k_in, n_out), dtype=np.float32) / np.float32(np.sqrt(k_in))).astype(np.float32)
    b = (0.1 * rng.standard_normal(n_out, dtype=np.float32)).astype(np.float32)
    x64, w64, b64 = x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)
    pre = x64 @ w64 + b64
    eps = float(np.finfo(np.float32).eps)
    bound = (k_in + 1) * eps * (np.abs(x64) @ np.abs(w64) + np.abs(b64))
    return x, w, b, pre, bound


def member_fn(member, x, w, b):
    batch, n_out = x.shape[0], w.shape[1]
    if member == "fastnn":
        y = np.empty((batch, n_out), np.float32)
        return lambda: fastnn.ops.linear(x, w, b, activation="relu", dropout=P, seed=SEED, out=y)
    if member == "numpy":
        rng = np.random.default_rng(SEED)
        y = np.empty((batch, n_out), np.float32)
        scale = np.float32(1.0 / (1.0 - P))

        def numpy_linear():
            np.matmul(x, w, out=y)
            np.add(y, b, out=y)  # y += b
            np.maximum(y, 0, out=y)
            np.multiply(y, rng.random(y.shape, dtype=np.float32) >= P, out=y)  # y *= mask
            np.multiply(y, scale, out=y)  # y *= 1 / (1 - p)
            return y

        return numpy_linear
    if member == "torch":
        torch = pytest.importorskip("torch")
        functional = torch.nn.functional
        xt, wt, bt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
        return lambda: functional.dropout(functional.relu(torch.addmm(bt, xt, wt)), P, training=True)
    raise ValueError(member)


def test_linear_relu_dropout(measure, check, member):
    x, w, b, pre, bound = case()
    fn = member_fn(member, x, w, b)
    y = check.numpy(fn()).astype(np.float64)
    scale = 1.0 / (1.0 - P)
    want = np.maximum(pre, 0.0) * scale
    kept = y != 0
    what = f"{member} linear relu dropout={P}"
    # kept elements: relu(x @ W + b) / (1 - p); dropped ones are exactly 0 (checked by `kept`)
    check.gemm_close(np.where(kept, y, want), want, bound * scale, what + " (kept values)")
    surely_positive = pre > bound
    assert not kept[pre < -bound].any(), what + ": nonzero output where relu(x @ W + b) is 0"
    check.fraction(kept[surely_positive].mean(), 1.0 - P, int(surely_positive.sum()), what)
    if member == "fastnn":
        mask = fastnn.ops.dropout_mask(y.shape, P, seed=SEED)
        assert not (kept & ~mask).any(), what + ": kept an element that dropout_mask drops"
        assert (kept | ~mask)[surely_positive].all(), what + ": dropped an element that dropout_mask keeps"
    batch, k_in, n_out = SHAPE
    measure(fn, group=f"linear relu+dropout{P} B,K,N={batch},{k_in},{n_out}", member=member,
            work=2.0 * batch * k_in * n_out, unit="flop", rounds=ROUNDS)
