"""Shared fixtures: fresh random inputs (the seed is printed, so a failure can be replayed),
thread-count switching, and the GEMM's blocking for boundary sizes."""

import contextlib
import os

import numpy as np
import pytest

import fastnn


@pytest.fixture
def rng():
    """A generator with fresh entropy each run; set FASTNN_TEST_SEED to replay a failure."""
    seed = int(os.environ.get("FASTNN_TEST_SEED", np.random.SeedSequence().entropy % 2**63))
    print(f"rng seed: FASTNN_TEST_SEED={seed}")
    return np.random.default_rng(seed)


@contextlib.contextmanager
def num_threads(n):
    previous = fastnn.get_num_threads()
    fastnn.set_num_threads(n)
    try:
        yield
    finally:
        fastnn.set_num_threads(previous)


def blocking(dtype):
    """The GEMM blocking in use for `dtype`: dict with mr, nr, mc, kc, nc."""
    return fastnn.cpu_info()["gemm"][np.dtype(dtype).name]


def machine_eps(dtype):
    return float(np.finfo(dtype).eps)
