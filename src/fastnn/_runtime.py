"""The machine and the thread pool: what fastnn runs on, and with how many threads."""

from __future__ import annotations

from . import _core
from . import _validation as check


def cpu_info():
    """What fastnn detected and chose, as a dict.

    Keys: ``isa`` (the kernel path in use: "generic", "avx2" or "avx512"; capped by the
    environment variable ``FASTNN_ISA``), ``isa_supported`` (the best path this CPU runs),
    ``num_threads``, ``openmp``, ``vendor``, ``cpu``, ``cache_bytes`` (l1d, l2 per core; l3),
    ``gemm`` (per dtype: the micro-kernel and its blocking mr, nr, mc, kc, nc, nb; and where
    the path has a dot-product kernel for narrow outputs, the products it takes: n up to
    narrow_columns and not a multiple of nr, A's rows contiguous, and k >= narrow_min_depth
    when n > narrow_group_columns; narrow_columns is 0 where it has none) and ``random`` (the
    Philox / dropout / fill kernel set).
    """
    return _core.cpu_info()


def get_num_threads():
    """The number of threads fastnn's kernels use (initially from ``OMP_NUM_THREADS``)."""
    return _core.get_num_threads()


def set_num_threads(n):
    """Sets the number of threads for all later calls, from any Python thread (n >= 1).

    Results do not depend on it: every kernel is bitwise identical for any thread count.
    Without OpenMP at build time fastnn runs single-threaded whatever is set.
    """
    n = check.integer(n, "n")
    if n < 1:
        raise ValueError(f"Argument `n` must be a positive integer. Received: n={n}")
    _core.set_num_threads(n)


def fma_peak_gflops(threads=None, *, seconds=0.3):
    """The float32 multiply-add peak of the kernel path in use, measured, in GFLOP/s.

    Runs independent FMA chains (the GEMM micro-kernel's instruction, without its loads) on
    ``threads`` threads at once (default: :func:`get_num_threads`) for about ``seconds`` and
    returns the best rate seen. The GEMM benchmarks quote their GFLOP/s against it; like any
    timing on a shared machine it is lower when other work competes for the cores.
    """
    threads = get_num_threads() if threads is None else check.integer(threads, "threads", minimum=1)
    if threads > 1024:
        raise ValueError(f"Argument `threads` must be at most 1024. Received: threads={threads}")
    seconds = check.real(seconds, "seconds", minimum=0)  # finite: check.real rejects inf and nan
    return _core.fma_peak_gflops(threads, seconds)
