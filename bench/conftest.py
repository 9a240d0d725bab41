"""Benchmark harness: fastnn beside NumPy (and PyTorch CPU when installed), one ratio table at the end.

Run with ``python -m pytest bench`` from the repository root (see bench/README.md). Each test
times one *member* (fastnn, numpy, torch, ...) of one *group* (an op at one shape) through the
``measure`` fixture, which records the median and the amount of work done; at the end of the
session :func:`pytest_terminal_summary` prints every group's medians, throughputs and the
speedup of fastnn over each other member (their median / fastnn's median).

PyTorch is optional: its members carry the ``torch`` marker and are skipped when it is not
installed, so the NumPy-vs-fastnn groups always run. When it is installed its intra-op thread
count is set to ``fastnn.get_num_threads()`` (from ``OMP_NUM_THREADS``, else all cores), so the
two run on the same number of cores; NumPy's OpenBLAS reads the same ``OMP_NUM_THREADS``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import math
import os
import platform
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

# fastnn first: PyTorch then shares the libgomp that fastnn loaded with passive waiting. The other
# way round, both get PyTorch's spinning default, which on a busy 2-core machine slows every
# parallel region (measured here: a 128x512x10 torch.mm 0.3 ms passive, 12-16 ms spinning).
import fastnn

try:
    import torch
except ImportError:  # the torch members are skipped
    torch = None

if torch is not None:
    torch.set_num_threads(fastnn.get_num_threads())

# Members of a group, in the order the table lists them; any other member comes after these.
MEMBERS = ("fastnn", "numpy", "torch")
# Sections of the table, by the first word of a group's name, in this order (others last).
SECTIONS = ("matmul", "dense", "linear", "conv2d", "batchnorm", "pool", "cnn", "augment", "dropout", "init", "epoch")

# unit of the work a test records -> (derived figure's label, divisor)
UNITS = {
    "flop": ("GFLOP/s", 1e9),   # 2*m*n*k for a matrix product
    "byte": ("GB/s", 1e9),      # bytes read + written (input once, output once)
    "sample": ("Msample/s", 1e6),
    "ksample": ("ksample/s", 1e3),  # training samples (one epoch's work: the number of samples)
}

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (pip install torch==2.13.0)")


@dataclass
class Record:
    group: str
    member: str
    median: float | None  # seconds; None when timing was disabled
    minimum: float | None
    rounds: int
    work: float
    unit: str
    note: str = ""  # shown in a last "notes" column (the column appears when any record has one)


_RECORDS: list[Record] = []


def pytest_configure(config):
    config.addinivalue_line("markers", "torch: a PyTorch member (skipped when PyTorch is not installed)")
    config.addinivalue_line("markers", "extra_members(*names): members timed after fastnn, numpy and torch")


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc):
    """Parametrizes a test's ``member`` argument: fastnn, numpy, torch, then any ``extra_members``.

    Run last, so ``member`` varies fastest and the members of one group run one after another.
    """
    if "member" not in metafunc.fixturenames:
        return
    extra = [name for marker in metafunc.definition.iter_markers("extra_members") for name in marker.args]
    members = [
        "fastnn",
        "numpy",
        pytest.param("torch", marks=[pytest.mark.torch, requires_torch]),
        *extra,
    ]
    metafunc.parametrize("member", members)


def _openblas_function(*names):
    """The first of ``names`` that NumPy's OpenBLAS exports (None when it is not found)."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                return fn
    return None


_OPENBLAS_GET = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                 "openblas_get_num_threads64_", "openblas_get_num_threads")
_OPENBLAS_SET = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                 "openblas_set_num_threads64_", "openblas_set_num_threads")


def _openblas_threads():
    """NumPy's OpenBLAS thread count, read from the library itself (None when not found)."""
    fn = _openblas_function(*_OPENBLAS_GET)
    return int(fn()) if fn is not None else None


@pytest.fixture
def one_thread():
    """``with one_thread(member):`` runs ``member`` (fastnn, numpy or torch) on one thread inside
    the block and restores its thread count after; skips a NumPy whose OpenBLAS cannot be set."""

    @contextlib.contextmanager
    def context(member):
        if member == "fastnn":
            get, set_ = fastnn.get_num_threads, fastnn.set_num_threads
        elif member == "numpy":
            get, set_ = _openblas_function(*_OPENBLAS_GET), _openblas_function(*_OPENBLAS_SET)
            if get is None or set_ is None:
                pytest.skip("NumPy's OpenBLAS thread count cannot be set from here")
        elif member == "torch":
            get, set_ = torch.get_num_threads, torch.set_num_threads
        else:
            raise ValueError(member)
        before = int(get())
        set_(1)
        try:
            yield
        finally:
            set_(before)

    return context


def recorded_median(group, member):
    """The median recorded for ``member`` of ``group`` earlier in this session (None if none)."""
    for record in _RECORDS:
        if record.group == group and record.member == member:
            return record.median
    return None


def _numpy_blas():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no mode="dicts"
        return "unknown BLAS"


def _load():
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


_START_LOAD = _load()  # before any benchmark ran: the load that others put on the machine


@functools.lru_cache(maxsize=None)
def fma_peak(threads):
    """float32 FMA peak of fastnn's ISA path at ``threads`` threads (GFLOP/s), probed once per session."""
    return fastnn.fma_peak_gflops(threads, seconds=1.0)


@pytest.fixture
def peak_note():
    """``peak_note(work, dtype)``: a ``note`` for a product's row, its rate (median) as a share
    of the probed FMA peak. The probe runs float32 FMAs; a float64 FMA does half the lanes' work,
    so its peak is half."""

    def note(work, dtype=np.float32):
        peak = fma_peak(fastnn.get_num_threads()) / (2 if np.dtype(dtype) == np.float64 else 1)
        return lambda median: f"{work / median / 1e9 / peak:.0%} of peak ({peak:.0f} GFLOP/s)" if median else ""

    return note


def machine_lines():
    """The lines that say which machine, path and thread counts produced a table."""
    info = fastnn.cpu_info()
    gemm = info.get("gemm", {})
    lines = [
        f"fastnn {fastnn.__version__}: isa={info['isa']} (supported {info['isa_supported']}), "
        f"cpu={info['cpu']} ({info['vendor']}), threads={fastnn.get_num_threads()}, openmp={info['openmp']}, "
        f"kernels={'/'.join(g['kernel'] for g in gemm.values())}",
    ]
    blas_threads = _openblas_threads()
    lines.append(
        f"numpy {np.__version__} ({_numpy_blas()}, threads={blas_threads if blas_threads is not None else '?'}); "
        + (f"torch {torch.__version__} (threads={torch.get_num_threads()})" if torch is not None
           else "torch not installed: torch members skipped")
    )
    lines.append(
        f"python {platform.python_version()}, {os.cpu_count()} logical CPUs, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')} (when unset, the OpenMP runtime waits passively: fastnn loads first and sets it, and PyTorch shares the same libgomp), "
        f"load average (1, 5, 15 min) before the run {_START_LOAD}: other work on the machine skews every figure"
    )
    threads = fastnn.get_num_threads()
    lines.append(
        f"float32 FMA peak (fastnn.fma_peak_gflops, isa={info['isa']}): {fma_peak(1):.1f} GFLOP/s on 1 thread"
        + (f", {fma_peak(threads):.1f} GFLOP/s on {threads} ({fma_peak(threads) / fma_peak(1):.2f}x)" if threads > 1 else "")
    )
    return lines


def pytest_report_header(config):
    return machine_lines()


def _other_threads_cpu_ticks():
    """CPU time (clock ticks) used so far by this process's threads other than the calling one;
    None where /proc/self/task is not available."""
    me = threading.get_native_id()
    total = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tasks:
        if int(tid) == me:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def wait_until_other_threads_idle(window=0.05, timeout=2.0):
    """Returns once no other thread of this process has run for ``window`` seconds (or after
    ``timeout``). NumPy's OpenBLAS workers spin for 0.1-0.15 s after each product here before
    they sleep: a member timed in that wake shares a core with them. A fastnn product right after
    a NumPy one took twice its time (2 threads, 256x1024x1024: 7.7-8.2 ms against 4.2), and
    every member's check computes a NumPy reference just before its timing."""
    deadline = time.perf_counter() + timeout
    before = _other_threads_cpu_ticks()
    while before is not None and time.perf_counter() < deadline:
        time.sleep(window)
        after = _other_threads_cpu_ticks()
        if after == before:
            return
        before = after


# Seconds each member runs untimed, right before its timing (at least one call).
WARM_UP_SECONDS = 0.2


def warm_up(fn, seconds=WARM_UP_SECONDS):
    """Calls ``fn`` until ``seconds`` have passed (at least once). After the idle wait above, a
    team of OpenMP threads that sleep while waiting (fastnn's, and PyTorch's, which share its
    runtime) starts slow: on 2 vCPUs the scheduler often woke the worker on the main thread's
    CPU, and 512x512 products ran at one thread's speed (3.5-4.2 ms against 2.0-2.2) for about
    50 ms, until the load balancer moved it. fastnn's workers now move themselves (parallel.hpp,
    leave_cpu), PyTorch's do not, and the first call after an idle spell is slow either way. Every
    member is timed in the steady state that a training loop runs in; README.md (Machine control)
    says what the first calls cost."""
    deadline = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < deadline:
        fn()


@pytest.fixture
def measure(benchmark):
    """Times ``fn`` as ``member`` of ``group`` and records it for the ratio table.

    ``work`` is the amount of work one call does in ``unit`` ("flop", "byte" or "sample").
    Once the other threads of the process are idle (see :func:`wait_until_other_threads_idle`),
    ``fn`` runs untimed for :data:`WARM_UP_SECONDS` (see :func:`warm_up`); then, with ``rounds``
    set, ``benchmark.pedantic`` times exactly that many calls (for the big cases), and without it
    pytest-benchmark calibrates by itself. Check the result *before* calling this: the timed
    region is only ``fn``. ``note`` is a short text for the table's last column, or a function of
    the median (seconds, None when timing is disabled) that returns it, e.g. for a profile's
    figure relative to the timed calls.
    """

    def run(fn, *, group, member, work, unit, rounds=None, note=""):
        assert unit in UNITS, unit
        benchmark.group = group
        benchmark.extra_info.update(member=member, work=work, unit=unit)
        wait_until_other_threads_idle()
        if not benchmark.disabled:
            warm_up(fn)
        if rounds is None:
            result = benchmark(fn)
        else:
            result = benchmark.pedantic(fn, rounds=rounds, warmup_rounds=0, iterations=1)
        stats = getattr(benchmark, "stats", None)
        if stats is not None and not benchmark.disabled:
            s = stats.stats
            record = Record(group, member, float(s.median), float(s.min), int(s.rounds), work, unit)
        else:
            record = Record(group, member, None, None, 0, work, unit)
        record.note = note(record.median) if callable(note) else note
        _RECORDS.append(record)
        return result

    return run


def _fmt_time(seconds):
    if seconds is None:
        return "-"
    for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {suffix}"
    return f"{seconds * 1e9:.3g} ns"


def ratio_table():
    """The table as a list of lines (empty when nothing was timed)."""
    groups: dict[str, list[Record]] = {}
    for record in _RECORDS:
        groups.setdefault(record.group, []).append(record)

    def section(item):
        first = item[0].split()[0]
        return SECTIONS.index(first) if first in SECTIONS else len(SECTIONS)

    groups = dict(sorted(groups.items(), key=section))  # stable: run order within a section
    if not any(r.median is not None for r in _RECORDS):
        return []

    def order(record):
        return (MEMBERS.index(record.member) if record.member in MEMBERS else len(MEMBERS), record.member)

    notes = any(r.note for r in _RECORDS)
    header = ("group", "member", "median", "min", "rate (median)", "fastnn speedup") + (("notes",) if notes else ())
    rows = []
    for group, records in groups.items():
        by_member = {r.member: r for r in records}
        base = by_member.get("fastnn")
        for i, r in enumerate(sorted(records, key=order)):
            label, divisor = UNITS[r.unit]
            rate = f"{r.work / r.median / divisor:.4g} {label}" if r.median else "-"
            if r.member == "fastnn" or base is None or base.median is None or r.median is None:
                speedup = ""
            else:
                speedup = f"{r.median / base.median:.2f}x"
            row = (group if i == 0 else "", r.member, _fmt_time(r.median), _fmt_time(r.minimum), rate, speedup)
            rows.append(row + ((r.note,) if notes else ()))
    widths = [max(len(h), *(len(row[c]) for row in rows)) for c, h in enumerate(header)]
    align = ("<", "<", ">", ">", ">", ">", "<")

    def line(cells):
        return "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(cells, align, widths)).rstrip()

    out = [line(header), line(tuple("-" * w for w in widths))]
    previous_group = None
    for row in rows:
        if row[0] and previous_group is not None:
            out.append("")
        if row[0]:
            previous_group = row[0]
        out.append(line(row))
    return out


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = ratio_table()
    if not lines:
        if _RECORDS:
            terminalreporter.write_line("fastnn bench: timing disabled, no ratio table")
        return
    terminalreporter.write_sep("=", "fastnn ratio table (median per call; fastnn speedup = member median / fastnn median)")
    terminalreporter.write_line(time.strftime("%Y-%m-%d %H:%M %Z"))
    for text in machine_lines():
        terminalreporter.write_line(text)
    terminalreporter.write_line(f"load average after the run {_load()} (this run's own threads count in it)")
    terminalreporter.write_line("")
    for text in lines:
        terminalreporter.write_line(text)


# ---------------------------------------------------------------- result checks (untimed)

class Checks:
    """Checks of a member's result, run before it is timed (the ``check`` fixture)."""

    @staticmethod
    def gemm_close(got, want64, bound, what):
        """Every element of ``got`` within ``bound`` of the float64 reference ``want64``.

        Use the a-priori rounding-error bound of a length-k dot product, k * eps * (|A| |B|)
        (gamma_k with a factor 2 of slack): it holds for any summation order, so for a blocked
        FMA GEMM too, while a wrong transpose or a skipped tile is off by O(1).
        """
        got64 = np.asarray(got, np.float64)
        err = np.abs(got64 - want64)
        bad = ~(err <= bound)  # NaN counts as bad
        if bad.any():
            i = tuple(int(j) for j in np.unravel_index(np.argmax(np.where(bad, np.inf, err - bound)), err.shape))
            raise AssertionError(
                f"{what}: {int(bad.sum())} of {err.size} elements exceed the rounding bound; worst at {i}: "
                f"got {got64[i]:.9g}, want {want64[i]:.9g}, bound {bound[i]:.3g}"
            )

    @staticmethod
    def fraction(observed, expected, n, what, sigmas=6.0):
        """A binomial proportion within ``sigmas`` standard errors of ``expected``."""
        se = math.sqrt(expected * (1.0 - expected) / n)
        assert abs(observed - expected) <= sigmas * se, (
            f"{what}: kept fraction {observed:.6f}, expected {expected:.6f} +- {sigmas * se:.2e} ({n} draws)"
        )

    @staticmethod
    def moments(values, *, mean, var, what, m4=None, sigmas=6.0):
        """Sample mean, variance (and fourth central moment) within ``sigmas`` standard errors.

        ``m4`` is the distribution's fourth central moment; it also sets the variance's
        standard error, sqrt((m4 - var^2) / n).
        """
        x = np.asarray(values, np.float64).ravel()
        n = x.size
        got_mean = x.mean()
        d2 = (x - got_mean) ** 2
        got_var = d2.mean()
        assert abs(got_mean - mean) <= sigmas * math.sqrt(var / n), f"{what}: mean {got_mean:.6g}, expected {mean:.6g}"
        if m4 is not None:
            se_var = math.sqrt((m4 - var * var) / n)
            assert abs(got_var - var) <= sigmas * se_var, f"{what}: variance {got_var:.6g}, expected {var:.6g}"
            got_m4 = (d2 * d2).mean()
            # a loose check (its standard error needs the eighth moment): it still tells a normal
            # from a uniform or a mixture of two scales
            assert abs(got_m4 - m4) <= 0.02 * m4, f"{what}: fourth moment {got_m4:.6g}, expected {m4:.6g}"
        return got_mean, got_var

    @staticmethod
    def numpy(value):
        """A torch tensor (or anything array-like) as a NumPy array."""
        if torch is not None and isinstance(value, torch.Tensor):
            return value.detach().numpy()
        return np.asarray(value)


@pytest.fixture
def check():
    return Checks
