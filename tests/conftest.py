"""Shared fixtures and helpers: fresh random inputs (the seed is printed, so a failure can be
replayed), thread-count switching, the GEMM's blocking for boundary sizes, central differences
(and a layer's gradients checked by them) and float64 reference activations."""

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


@pytest.fixture
def one_thread():
    """Tiny networks run fastest on one thread (and a test that changes the setting is undone)."""
    with num_threads(1):
        yield


def blocking(dtype):
    """The GEMM blocking in use for `dtype`: dict with mr, nr, mc, kc, nc."""
    return fastnn.cpu_info()["gemm"][np.dtype(dtype).name]


def machine_eps(dtype):
    return float(np.finfo(dtype).eps)


def numeric_gradient(loss, a, h=1e-6):
    """Central differences of the scalar ``loss()`` with respect to every element of ``a``
    (perturbed in place and restored)."""
    grad = np.zeros(a.shape, np.float64)
    for index in np.ndindex(a.shape):
        saved = a[index]
        a[index] = saved + h
        up = loss()
        a[index] = saved - h
        down = loss()
        a[index] = saved
        grad[index] = (up - down) / (2 * h)
    return grad


def assert_layer_gradients(layer, x, rng, rtol=1e-6, atol=1e-8):
    """A built float64 layer's backward (dx and every parameter's gradient) against central
    differences of the scalar <layer(x), weights> for random weights."""
    weights = rng.standard_normal(layer.forward(x, training=True).shape)

    def loss():
        return float(np.sum(layer.forward(x, training=True) * weights))

    loss()
    dx = layer.backward(weights)
    grads = {name: g.copy() for name, g in layer.grads.items()}
    assert grads and set(grads) == set(layer.params)
    np.testing.assert_allclose(dx, numeric_gradient(loss, x), rtol=rtol, atol=atol, err_msg="dx")
    for name, param in layer.params.items():
        np.testing.assert_allclose(grads[name], numeric_gradient(loss, param), rtol=rtol, atol=atol, err_msg=name)


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
