"""Matrix products: square GEMMs and the three products of a dense layer's training step.

Every member writes into a preallocated output (``out=``), so no member times an allocation:
fastnn ``ops.matmul(a, b, out=c)``, NumPy ``np.matmul(a, b, out=c)`` (what ``a @ b`` runs),
PyTorch ``torch.mm(a, b, out=c)``. Transposed operands are passed as views (``x.T``, ``w.t()``),
which all three read in place. Before timing, each member's result is checked against a float64
product within the rounding-error bound k * eps * (|A| |B|).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import fastnn

SEED = 20240501

# (dtype, n, pedantic rounds or None for pytest-benchmark's own calibration)
SQUARE = [
    (np.float32, 256, None),
    (np.float32, 512, None),
    (np.float32, 1024, 10),
    (np.float32, 2048, 5),
    (np.float64, 1024, 10),
]

# (batch B, in_features K, out_features N)
DENSE = [(128, 784, 512), (128, 512, 512), (256, 1024, 1024), (128, 512, 10), (64, 4096, 4096)]

# forward, weight gradient (fastnn: trans_a=True), input gradient (trans_b=True);
# operands X (B, K), W (K, N), dY (B, N)
DENSE_OPS = ("X@W", "dW=X.T@dY", "dX=dY@W.T")


@functools.lru_cache(maxsize=2)
def square_case(dtype, n):
    rng = np.random.default_rng([SEED, n])
    a = rng.standard_normal((n, n), dtype=dtype)
    b = rng.standard_normal((n, n), dtype=dtype)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return a, b, a64 @ b64, gemm_bound(a64, b64, n, dtype)


def gemm_bound(a64, b64, k, dtype):
    """k * eps * (|A| |B|): see ``Checks.gemm_close`` in conftest.py."""
    return k * float(np.finfo(dtype).eps) * (np.abs(a64) @ np.abs(b64))


@functools.lru_cache(maxsize=2)
def dense_case(shape, op):
    """Operands (as fastnn takes them), the float64 reference and its bound, for one product."""
    batch, k_in, n_out = shape
    rng = np.random.default_rng([SEED, batch, k_in, n_out])
    x = rng.standard_normal((batch, k_in), dtype=np.float32)
    w = (rng.standard_normal((k_in, n_out), dtype=np.float32) / np.float32(np.sqrt(k_in))).astype(np.float32)
    dy = rng.standard_normal((batch, n_out), dtype=np.float32)
    if op == "X@W":
        a, b, trans_a, trans_b = x, w, False, False
    elif op == "dW=X.T@dY":
        a, b, trans_a, trans_b = x, dy, True, False
    else:
        a, b, trans_a, trans_b = dy, w, False, True
    a64 = a.astype(np.float64).T if trans_a else a.astype(np.float64)
    b64 = b.astype(np.float64).T if trans_b else b.astype(np.float64)
    k = a64.shape[1]
    return a, b, trans_a, trans_b, a64 @ b64, gemm_bound(a64, b64, k, np.float32), k


def product_fn(member, a, b, trans_a, trans_b):
    """(fn, out) computing op(a) @ op(b) into a preallocated out, the way ``member`` does it."""
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    if member == "fastnn":
        out = np.empty((m, n), a.dtype)
        return (lambda: fastnn.ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out)), out
    if member == "numpy":
        out = np.empty((m, n), a.dtype)
        av, bv = (a.T if trans_a else a), (b.T if trans_b else b)
        return (lambda: np.matmul(av, bv, out=out)), out
    if member == "torch":
        torch = pytest.importorskip("torch")
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        av, bv = (at.t() if trans_a else at), (bt.t() if trans_b else bt)
        out = torch.empty((m, n), dtype=at.dtype)
        return (lambda: torch.mm(av, bv, out=out)), out
    raise ValueError(member)


@pytest.mark.parametrize(("dtype", "n", "rounds"), SQUARE, ids=[f"{np.dtype(d).name}-{n}" for d, n, _ in SQUARE])
def test_matmul_square(measure, check, peak_note, member, dtype, n, rounds):
    a, b, want, bound = square_case(dtype, n)
    fn, out = product_fn(member, a, b, False, False)
    fn()
    check.gemm_close(check.numpy(out), want, bound, f"{member} matmul {np.dtype(dtype).name} n={n}")
    tag = "f32" if dtype == np.float32 else "f64"
    measure(fn, group=f"matmul {tag} n={n}", member=member, work=2.0 * n**3, unit="flop", rounds=rounds,
            note=peak_note(2.0 * n**3, dtype))


@pytest.mark.parametrize("op", DENSE_OPS)
@pytest.mark.parametrize("shape", DENSE, ids=["x".join(map(str, s)) for s in DENSE])
def test_dense_products(measure, check, peak_note, member, shape, op):
    a, b, trans_a, trans_b, want, bound, k = dense_case(shape, op)
    fn, out = product_fn(member, a, b, trans_a, trans_b)
    fn()
    check.gemm_close(check.numpy(out), want, bound, f"{member} {op} at (B,K,N)={shape}")
    batch, k_in, n_out = shape
    work = 2.0 * batch * k_in * n_out
    measure(fn, group=f"dense {op} B,K,N={batch},{k_in},{n_out}", member=member, work=work, unit="flop",
            note=peak_note(work))
