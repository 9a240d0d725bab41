"""cpu_info, thread settings, and what the package exposes."""

import os
import subprocess
import sys

import pytest

import fastnn
from conftest import num_threads


def test_cpu_info_names_the_path_and_the_threads():
    info = fastnn.cpu_info()
    assert info["isa"] in ("generic", "avx2", "avx512")
    assert info["num_threads"] == fastnn.get_num_threads() >= 1
    for dtype in ("float32", "float64"):
        gemm = info["gemm"][dtype]
        assert gemm["mc"] % gemm["mr"] == 0 and gemm["nc"] % gemm["nr"] == 0 and gemm["kc"] > 0
        assert gemm["nb"] % gemm["nr"] == 0 and gemm["nr"] <= gemm["nb"] <= gemm["nc"]
        assert info["isa"] in gemm["kernel"]
        if gemm["narrow_columns"]:  # a narrow-output kernel of the same path, and the products it takes
            assert info["isa"] in gemm["narrow_kernel"]
            assert 1 <= gemm["narrow_group_columns"] <= gemm["narrow_columns"] and gemm["narrow_min_depth"] >= 1
        else:
            assert gemm["narrow_kernel"] == "" and info["isa"] != "avx2"
    assert all(info["cache_bytes"][level] > 0 for level in ("l1d", "l2", "l3"))
    assert info["isa"] in info["random"]


def test_set_num_threads_round_trips():
    with num_threads(3):
        assert fastnn.get_num_threads() == (3 if fastnn.cpu_info()["openmp"] else 1)
        assert fastnn.cpu_info()["num_threads"] == fastnn.get_num_threads()


@pytest.mark.parametrize("n, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)])
def test_set_num_threads_rejects_bad_values(n, error):
    with pytest.raises(error, match="`n`"):
        fastnn.set_num_threads(n)


def test_fma_peak_probe_measures_a_rate():
    rate = fastnn.fma_peak_gflops(1, seconds=0.01)
    assert isinstance(rate, float) and 0 < rate < float("inf")


@pytest.mark.parametrize("kwargs, error, name", [({"threads": 0}, ValueError, "threads"),
                                                  ({"threads": 1.0}, TypeError, "threads"),
                                                  ({"seconds": -1}, ValueError, "seconds"),
                                                  ({"seconds": float("nan")}, ValueError, "seconds"),
                                                  ({"seconds": float("inf")}, ValueError, "seconds"),
                                                  ({"threads": 5000}, ValueError, "threads")])
def test_fma_peak_probe_rejects_bad_arguments(kwargs, error, name):
    with pytest.raises(error, match=f"`{name}`"):
        fastnn.fma_peak_gflops(**kwargs)


def test_threads_follow_omp_num_threads():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    code = "import fastnn; print(fastnn.get_num_threads())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "1", done.stderr


def test_public_modules():
    assert {"ops", "init", "random", "cpu_info", "fma_peak_gflops", "set_num_threads", "get_num_threads"} <= set(fastnn.__all__)
    assert fastnn.__version__


# A worker woken on the CPU of the thread that started a parallel region moves to another CPU
# (parallel.hpp, leave_cpu): by narrowing its affinity mask for a moment. It must move, the masks
# must come out as they went in, and a process confined to one CPU must run as before.
@pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda pid: ())(0)) < 2, reason="needs 2 CPUs to move between")
def test_a_worker_on_the_callers_cpu_moves_and_keeps_its_mask():
    moved = 0
    for _ in range(20):
        cpu, before, after, mask_kept = fastnn._core.leave_cpu_trial()
        assert before == cpu and after in os.sched_getaffinity(0) and mask_kept
        moved += after != cpu
    # The move is immediate; only the scheduler could bring the thread back before it looks.
    assert moved >= 18


AFFINITY_SCRIPT = """
import os, sys
cpus = os.sched_getaffinity(0)
if sys.argv[1] == "one":
    cpus = {min(cpus)}
    os.sched_setaffinity(0, cpus)  # before any library starts threads: they inherit it
import numpy as np
import fastnn
fastnn.set_num_threads(2)
rng = np.random.default_rng(0)
a, b = rng.standard_normal((300, 300)), rng.standard_normal((300, 300))
x = rng.standard_normal((4, 64, 64, 8)).astype(np.float32)
first = (fastnn.ops.matmul(a, b), fastnn.ops.dropout(x, 0.5, seed=1))  # a GEMM and a parallel_for
for _ in range(200):
    again = (fastnn.ops.matmul(a, b), fastnn.ops.dropout(x, 0.5, seed=1))
    assert all(np.array_equal(p, q) for p, q in zip(first, again))
masks = {tid: os.sched_getaffinity(int(tid)) for tid in os.listdir("/proc/self/task")}
assert len(masks) >= 2 or not fastnn.cpu_info()["openmp"], masks  # a worker was there to check
assert all(mask == cpus for mask in masks.values()), (cpus, masks)
print("ok", len(cpus))
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs Linux's affinity calls")
@pytest.mark.parametrize("cpus", ["all", "one"])
def test_parallel_regions_leave_every_thread_its_affinity_mask(cpus):
    done = subprocess.run([sys.executable, "-c", AFFINITY_SCRIPT, cpus], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")
