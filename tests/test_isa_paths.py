"""Every ISA path the machine can run: FASTNN_ISA caps the choice, and random streams (dropout
masks, every fill) are bitwise identical across the paths. The full suite is also rerun under
each FASTNN_ISA by .ci/run; this file compares the paths with each other in one run.

The SIMD kernels compute whole batches of 8 (AVX2) or 16 (AVX-512) Philox blocks and finish
the edges of a call through scratch, so the probe also digests many short calls at offsets that
are not multiples of 4, including lengths just around the batch sizes. On a machine without
AVX-512 the AVX-512 kernels do not run here at all: they were checked bit for bit against the
scalar path under emulation (SIMDe) during development, outside this suite."""

import json
import os
import subprocess
import sys

import pytest

import fastnn

PATHS = ["generic", "avx2", "avx512"]
RUNNABLE = PATHS[: PATHS.index(fastnn.cpu_info()["isa_supported"]) + 1]

# Prints, under the given FASTNN_ISA, the path in use, digests of every random stream, and the
# worst relative error of a few GEMMs against NumPy.
PROBE = r"""
import hashlib, json
import numpy as np
import fastnn

def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()

KATS = [((0, 0, 0, 0), (0, 0)), ((2**32 - 1,) * 4, (2**32 - 1,) * 2),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0))]
kat = [[int(v) for v in fastnn.random.philox4x32(counter, key)] for counter, key in KATS]

edges = hashlib.sha256()
for n in (0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 129):
    for offset in (0, 1, 2, 3, 5, 6, 4 * 2**32 - 3, 2**64 - 200):
        edges.update(fastnn.random.random_bits(n, seed=7, offset=offset).tobytes())
        edges.update(fastnn.ops.dropout_mask(n, 0.4, seed=7, offset=offset).tobytes())
        for dtype in ("float32", "float64"):
            x = np.linspace(-1, 1, n).astype(dtype)
            edges.update(fastnn.ops.dropout(x, 0.4, seed=7, offset=offset).tobytes())
            for fill in ("uniform", "normal", "truncated_normal"):
                edges.update(getattr(fastnn.random, fill)(n, seed=7, offset=offset, dtype=dtype).tobytes())

streams = {"edges": edges.hexdigest(),
           "mask": digest(fastnn.ops.dropout_mask(100_003, 0.3, seed=5, offset=7)),
           "bits": digest(fastnn.random.random_bits(100_003, seed=2**40 + 3, offset=1))}
for dtype in ("float32", "float64"):
    x = np.linspace(-3, 3, 100_003).astype(dtype)
    streams["dropout_" + dtype] = digest(fastnn.ops.dropout(x, 0.6, seed=9, offset=3))
    for fill in ("uniform", "normal", "truncated_normal"):
        streams[fill + "_" + dtype] = digest(getattr(fastnn.random, fill)(100_003, seed=11, offset=5, dtype=dtype))
rng = np.random.default_rng(0)
# Kernels whose portable loops are compiled again for AVX2 (the optimizer updates, also such,
# are checked bit for bit against NumPy replicas under every FASTNN_ISA that .ci/run sets).
portable = hashlib.sha256()
for dtype in ("float32", "float64"):
    for rows, features in [(2, 1), (300, 3), (257, 16), (70, 37), (600, 64), (33, 100)]:
        x = (rng.standard_normal((rows, features)) * 3 + 1).astype(dtype)
        dy = rng.standard_normal((rows, features)).astype(dtype)
        gamma, beta = rng.standard_normal((2, features)).astype(dtype)
        for act in fastnn.ops.ACTIVATIONS:
            y, mean, variance = fastnn.ops.batch_norm(x, gamma, beta, activation=act)
            inference = fastnn.ops.batch_norm(x, gamma, beta, mean=mean, variance=variance, activation=act)[0]
            grads = fastnn.ops.batch_norm_backward(dy, x, gamma, mean, variance, y=y, activation=act)
            for array in (y, mean, variance, inference, *grads):
                portable.update(array.tobytes())
    for shape, pool, strides, padding in [((2, 9, 7, 5), 2, None, "valid"), ((1, 6, 6, 37), 3, 2, "same"),
                                          ((3, 8, 8, 64), 2, None, "valid"), ((2, 5, 4, 3, 16), 2, 1, "same")]:
        x = rng.standard_normal(shape).astype(dtype)
        x.flat[::7] = np.nan  # the first NaN of a window wins, on every path
        kwargs = dict(strides=strides, padding=padding)
        y, argmax = fastnn.ops.max_pool(x, pool, **kwargs)
        dy = rng.standard_normal(y.shape).astype(dtype)
        average = fastnn.ops.average_pool(x, pool, **kwargs)
        for array in (y, argmax, fastnn.ops.max_pool(x, pool, return_argmax=False, **kwargs), average,
                      fastnn.ops.max_pool_backward(dy, argmax, shape, pool, **kwargs),
                      fastnn.ops.average_pool_backward(dy, shape, pool, **kwargs)):
            portable.update(array.tobytes())
streams["portable"] = portable.hexdigest()
errors = []
for dtype in ("float32", "float64"):
    for m, n, k in [(1, 1, 1), (37, 53, 71), (300, 211, 257)]:
        a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        errors.append(float(np.max(np.abs(fastnn.ops.matmul(a, b) - ref) / (np.abs(a) @ np.abs(b)).astype(np.float64))))
print(json.dumps({"isa": fastnn.cpu_info()["isa"], "streams": streams, "kat": kat, "gemm_error": max(errors)}))
"""


def run_probe(isa):
    env = dict(os.environ, FASTNN_ISA=isa)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def probes():
    return {isa: run_probe(isa) for isa in RUNNABLE}


def test_fastnn_isa_selects_each_runnable_path(probes):
    for isa, probe in probes.items():
        assert probe["isa"] == isa


def test_random_streams_and_portable_kernels_are_bitwise_identical_across_paths(probes):
    reference = probes["generic"]["streams"]
    for isa, probe in probes.items():
        assert probe["streams"] == reference, f"{isa} differs from generic"


def test_philox_known_answers_on_every_path(probes):
    """Random123's philox4x32_10 known-answer vectors, computed by each path's SIMD Philox."""
    expected = [
        [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8],
        [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD],
        [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1],
    ]
    for isa, probe in probes.items():
        assert probe["kat"] == expected, isa


def test_gemm_is_accurate_on_every_path(probes):
    for isa, probe in probes.items():
        assert probe["gemm_error"] < 1e-5, isa


def test_a_cap_above_the_cpu_falls_back_to_the_best_supported():
    assert run_probe("avx512")["isa"] == fastnn.cpu_info()["isa_supported"]


def test_unknown_isa_name_fails_the_import_clearly():
    env = dict(os.environ, FASTNN_ISA="sse9")
    done = subprocess.run([sys.executable, "-c", "import fastnn"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "FASTNN_ISA must be one of 'generic', 'avx2', 'avx512'. Received: FASTNN_ISA='sse9'" in done.stderr


def test_gemm_blocking_override_is_applied_and_stays_exact():
    """FASTNN_GEMM_BLOCKING (for tuning) replaces the derived blocking, rounded to the tile, and
    products stay correct at sizes that cross the new block boundaries."""
    code = """
import json, numpy as np, fastnn
g = fastnn.cpu_info()["gemm"]["float32"]
rng = np.random.default_rng(0)
a, b = rng.standard_normal((61, 45)), rng.standard_normal((45, 70))
error = float(np.max(np.abs(fastnn.ops.matmul(a, b) - a @ b)))
print(json.dumps({"mc": g["mc"], "kc": g["kc"], "nc": g["nc"], "nb": g["nb"], "mr": g["mr"], "nr": g["nr"], "error": error}))
"""
    env = dict(os.environ, FASTNN_GEMM_BLOCKING="29,17,33")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert (got["mc"], got["kc"], got["nc"]) == (29 // got["mr"] * got["mr"], 17, 33 // got["nr"] * got["nr"])
    assert got["nb"] % got["nr"] == 0 and got["nr"] <= got["nb"] <= got["nc"]  # NB follows the new KC and NC
    assert got["error"] < 1e-12


@pytest.mark.parametrize("value", ["1,2", "0,64,4096", "256,0,4096", "256,64,4096,1", "a,b,c", "256,64,4096x"])
def test_bad_gemm_blocking_fails_the_import_clearly(value):
    env = dict(os.environ, FASTNN_GEMM_BLOCKING=value)
    done = subprocess.run([sys.executable, "-c", "import fastnn"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "FASTNN_GEMM_BLOCKING must be 'MC,KC,NC'" in done.stderr
    assert f"Received: FASTNN_GEMM_BLOCKING='{value}'" in done.stderr
