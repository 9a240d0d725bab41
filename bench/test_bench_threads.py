"""Thread scaling: the square float32 products of test_bench_matmul.py again, every member on one thread.

Issue 4 asks two threads to run a product of n >= 512 at least 1.85x as fast as one. Here each
member runs on one thread (``fastnn.set_num_threads(1)``, OpenBLAS's ``openblas_set_num_threads(1)``,
``torch.set_num_threads(1)``; restored after), checked against a float64 product first like the
others. The notes give the rate against the one-thread FMA probe and, from the group timed at
the session's thread count earlier (test_bench_matmul.py runs first), the member's speedup
there: its median on one thread over its median on all.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from conftest import fma_peak, recorded_median
from test_bench_matmul import product_fn, square_case

# (n, pedantic rounds or None for pytest-benchmark's own calibration)
SIZES = [(512, None), (1024, 5), (2048, 3)]


def scaling_note(work, n, member, threads):
    """The note of a one-thread row; ``threads``: what the group of test_bench_matmul.py ran on."""

    def note(median):
        if not median:
            return ""
        text = f"{work / median / 1e9 / fma_peak(1):.0%} of 1-thread peak ({fma_peak(1):.0f} GFLOP/s)"
        many = recorded_median(f"matmul f32 n={n}", member)
        if many and threads > 1:
            text += f"; {threads} threads {median / many:.2f}x as fast"
        return text

    return note


@pytest.mark.parametrize(("n", "rounds"), SIZES, ids=[str(n) for n, _ in SIZES])
def test_matmul_one_thread(measure, check, one_thread, member, n, rounds):
    a, b, want, bound = square_case(np.float32, n)
    fn, out = product_fn(member, a, b, False, False)
    work = 2.0 * n**3
    threads = fastnn.get_num_threads()  # (read before fastnn's own member sets it to 1)
    with one_thread(member):
        fn()
        check.gemm_close(check.numpy(out), want, bound, f"{member} matmul float32 n={n} on one thread")
        measure(fn, group=f"matmul f32 n={n} 1 thread", member=member, work=work, unit="flop", rounds=rounds,
                note=scaling_note(work, n, member, threads))
