"""Initializer fills, 4096 x 4096 float32 (16M samples), each call returning a new array.

- normal: ``fastnn.random.normal(shape, seed=...)`` vs ``rng.standard_normal(shape, dtype=np.float32)``
  vs ``torch.empty(shape).normal_()``;
- uniform: ``fastnn.random.uniform(shape, seed=...)`` vs ``rng.random(shape, dtype=np.float32)``
  vs ``torch.empty(shape).uniform_()``;
- truncated_normal (to +-2 standard deviations): ``fastnn.random.truncated_normal(shape, seed=...)``
  vs ``rng.standard_normal`` with the values beyond 2 redrawn until none is left (NumPy has no
  truncated normal) vs ``torch.nn.init.trunc_normal_(torch.empty(shape), a=-2, b=2)``.

``rng`` is ``np.random.default_rng(...)``. Before timing, each member's sample is checked: its
range, and its mean and variance against the distribution's within 6 standard errors, and its
fourth central moment within 2%.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastnn

SEED = 20240504
SHAPE = (4096, 4096)
KINDS = ("normal", "uniform", "truncated_normal")
ROUNDS = 5


def truncated_moments(a):
    """Variance and fourth central moment of a unit normal truncated to [-a, a]."""
    z = math.erf(a / math.sqrt(2.0))
    tail = 2.0 * a * math.exp(-a * a / 2.0) / math.sqrt(2.0 * math.pi) / z
    var = 1.0 - tail
    return var, 3.0 * var - a * a * tail


MOMENTS = {  # kind -> (mean, variance, fourth central moment, lowest, highest)
    "normal": (0.0, 1.0, 3.0, -np.inf, np.inf),
    "uniform": (0.5, 1.0 / 12.0, 1.0 / 80.0, 0.0, np.nextafter(np.float32(1.0), np.float32(0.0))),
    "truncated_normal": (0.0, *truncated_moments(2.0), -2.0, 2.0),
}


def numpy_truncated_normal(rng, shape):
    x = rng.standard_normal(shape, dtype=np.float32)
    flat = x.reshape(-1)
    bad = np.flatnonzero(np.abs(flat) > 2)
    while bad.size:
        flat[bad] = rng.standard_normal(bad.size, dtype=np.float32)
        bad = bad[np.abs(flat[bad]) > 2]
    return x


def member_fn(member, kind):
    if member == "fastnn":
        return {
            "normal": lambda: fastnn.random.normal(SHAPE, seed=SEED),
            "uniform": lambda: fastnn.random.uniform(SHAPE, seed=SEED),
            "truncated_normal": lambda: fastnn.random.truncated_normal(SHAPE, seed=SEED),
        }[kind]
    if member == "numpy":
        rng = np.random.default_rng(SEED)
        return {
            "normal": lambda: rng.standard_normal(SHAPE, dtype=np.float32),
            "uniform": lambda: rng.random(SHAPE, dtype=np.float32),
            "truncated_normal": lambda: numpy_truncated_normal(rng, SHAPE),
        }[kind]
    if member == "torch":
        torch = pytest.importorskip("torch")
        torch.manual_seed(SEED)
        return {
            "normal": lambda: torch.empty(SHAPE).normal_(),
            "uniform": lambda: torch.empty(SHAPE).uniform_(),
            "truncated_normal": lambda: torch.nn.init.trunc_normal_(torch.empty(SHAPE), mean=0.0, std=1.0, a=-2.0, b=2.0),
        }[kind]
    raise ValueError(member)


@pytest.mark.parametrize("kind", KINDS)
def test_init(measure, check, member, kind):
    fn = member_fn(member, kind)
    x = check.numpy(fn())
    what = f"{member} {kind} {SHAPE}"
    assert x.shape == SHAPE and x.dtype == np.float32, what
    mean, var, m4, lowest, highest = MOMENTS[kind]
    assert np.isfinite(x).all(), what + ": non-finite values"
    assert lowest <= x.min() and x.max() <= highest, f"{what}: range [{x.min()}, {x.max()}]"
    check.moments(x, mean=mean, var=var, m4=m4, what=what)
    del x
    measure(fn, group=f"init {kind} {SHAPE[0]}x{SHAPE[1]} f32", member=member, work=float(math.prod(SHAPE)),
            unit="sample", rounds=ROUNDS)
