"""Tests of fastnn.layers on their own: the layer protocol, finite-difference gradients of every
layer in float64, Dense's initialization and argument checks, and both Dropout conventions.

Expected values are written here from the documented formulas (NumPy in float64) or from
central differences, never taken from the code under test. Statistical bounds give a correct
implementation a false-failure probability below about 1e-6 per test.
"""

import math
import re

import numpy as np
import pytest
from scipy import stats

from conftest import np_sigmoid, np_softmax, numeric_gradient

import fastnn
from fastnn.layers import Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from fastnn.regularizers import L1, L1L2, L2

RTOL, ATOL = 1e-6, 1e-8  # float64 finite-difference tolerances
ALPHA = 1e-6  # p-value threshold of the KS tests
Z_BOUND = 5.5  # P(|Z| > 5.5) = 3.8e-8
LEAKY_SLOPE = 0.01  # Dense's documented leaky_relu slope
DENSE_ACTIVATIONS = [None, "linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
F64 = np.dtype(np.float64)


# -- reference formulas and helpers ----------------------------------------------------------------


def np_activation(name, z):
    return {
        None: lambda v: v,
        "linear": lambda v: v,
        "relu": lambda v: np.maximum(v, 0.0),
        "leaky_relu": lambda v: np.where(v >= 0, v, LEAKY_SLOPE * v),
        "sigmoid": np_sigmoid,
        "tanh": np.tanh,
        "softmax": np_softmax,
    }[name](z)


def assert_gradient(analytic, numeric):
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL)


def away_from_zero(rng, shape, low=0.1, high=1.5):
    """Values with |v| in [low, high] and random signs (keeps ReLU kinks and |w| at 0 out of reach of h)."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def dense64(units, *, x, rng, activation=None, margin=0.05, **kwargs):
    """A float64 Dense layer built for x, with random W and b such that no pre-activation is within
    ``margin`` of 0 (the ReLU kink) — W and b are redrawn until that holds."""
    layer = Dense(units, activation=activation, dtype="float64", seed=int(rng.integers(2**63)), **kwargs)
    layer.build(x.shape[1:])
    for _ in range(1000):
        W = away_from_zero(rng, layer.params["W"].shape, 0.05, 1.0)
        b = away_from_zero(rng, layer.params["b"].shape, 0.05, 1.0)
        if np.min(np.abs(x @ W + b)) > margin:
            break
    else:  # pragma: no cover - probability negligible
        raise AssertionError("could not draw pre-activations away from 0")
    layer.params["W"][...] = W
    layer.params["b"][...] = b
    return layer


def expect_shape_error(layer, x, expected):
    with pytest.raises(ValueError, match=r"\(batch, " + ", ".join(map(str, expected)) + r"\)"):
        layer.forward(x)


# -- finite-difference gradients ------------------------------------------------------------------


@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS)
def test_dense_gradients_match_finite_differences(rng, activation):
    x = away_from_zero(rng, (4, 5))
    layer = dense64(3, x=x, rng=rng, activation=activation)
    r = rng.standard_normal((4, 3))

    def loss():
        return float(np.sum(r * layer.forward(x, training=True)))

    layer.forward(x, training=True)
    dx = layer.backward(r.copy())
    dW, db = layer.grads["W"].copy(), layer.grads["b"].copy()
    assert dx.shape == x.shape and dW.shape == (5, 3) and db.shape == (3,)
    assert_gradient(dx, numeric_gradient(loss, x))
    assert_gradient(dW, numeric_gradient(loss, layer.params["W"]))
    assert_gradient(db, numeric_gradient(loss, layer.params["b"]))


REGULARIZER_CASES = [
    pytest.param(L1(0.3), None, id="L1-kernel"),
    pytest.param(None, L1(0.2), id="L1-bias"),
    pytest.param(L2(0.25), L2(0.5), id="L2"),
    pytest.param(L1L2(l1=0.1, l2=0.2), L1L2(l1=0.3, l2=0.05), id="L1L2"),
    pytest.param("l2", "l1", id="by-name"),
]


@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
@pytest.mark.parametrize("kernel_regularizer, bias_regularizer", REGULARIZER_CASES)
def test_dense_gradients_include_the_penalty(rng, activation, kernel_regularizer, bias_regularizer):
    x = away_from_zero(rng, (4, 5))
    layer = dense64(3, x=x, rng=rng, activation=activation, kernel_regularizer=kernel_regularizer,
                    bias_regularizer=bias_regularizer)
    r = rng.standard_normal((4, 3))

    def loss():
        return float(np.sum(r * layer.forward(x, training=True))) + layer.regularization_penalty()

    layer.forward(x, training=True)
    dx = layer.backward(r.copy())
    dW, db = layer.grads["W"].copy(), layer.grads["b"].copy()
    assert_gradient(dx, numeric_gradient(loss, x))
    assert_gradient(dW, numeric_gradient(loss, layer.params["W"]))
    assert_gradient(db, numeric_gradient(loss, layer.params["b"]))


def test_dense_regularization_penalty_is_the_documented_sum(rng):
    layer = Dense(3, kernel_regularizer=L1L2(l1=0.25, l2=0.5), bias_regularizer=L2(0.125), dtype="float64", seed=1)
    assert layer.regularization_penalty() == 0.0  # not built yet
    layer.forward(rng.standard_normal((2, 4)))
    W, b = layer.params["W"].astype(np.float64), layer.params["b"].astype(np.float64)
    layer.params["b"][...] = b = rng.standard_normal(3)
    expected = 0.25 * np.sum(np.abs(W)) + 0.5 * np.sum(W**2) + 0.125 * np.sum(b**2)
    assert layer.regularization_penalty() == pytest.approx(expected, rel=1e-13)
    assert Dense(3, dtype="float64", seed=1).regularization_penalty() == 0.0


@pytest.mark.parametrize("mode", ["inverted", "classic"])
@pytest.mark.parametrize("rate", [0.2, 0.6])
def test_dropout_gradient_matches_finite_differences(rng, mode, rate):
    layer = Dropout(rate, mode=mode, seed=int(rng.integers(2**63)))
    layer.dtype = F64  # Dropout takes no dtype argument; this is what Sequential sets
    x = rng.standard_normal((6, 7))
    r = rng.standard_normal((6, 7))
    step = 5

    def loss():
        layer.step = step  # each training forward advances the step (and so the mask)
        return float(np.sum(r * layer.forward(x, training=True)))

    layer.step = step
    y = layer.forward(x, training=True)
    assert layer.step == step + 1
    assert y.dtype == F64
    dx = layer.backward(r.copy())
    numeric = numeric_gradient(loss, x)
    assert_gradient(dx, numeric)
    # The mask of step s is drawn at stream offset s * 2**32 (rate compared against 32-bit draws).
    kept = fastnn.random.random_bits(x.shape, seed=layer.seed, offset=step << 32) >= round(rate * 2**32)
    assert 0 < kept.sum() < kept.size
    scale = 1 / (1 - rate) if mode == "inverted" else 1.0
    np.testing.assert_allclose(numeric, np.where(kept, scale * r, 0.0), rtol=RTOL, atol=ATOL)


ACTIVATION_LAYERS = [
    pytest.param(ReLU, {}, lambda v: np.maximum(v, 0), id="relu"),
    pytest.param(LeakyReLU, {}, lambda v: np.where(v >= 0, v, 0.01 * v), id="leaky_relu-default"),
    pytest.param(LeakyReLU, {"alpha": 0.3}, lambda v: np.where(v >= 0, v, 0.3 * v), id="leaky_relu-0.3"),
    pytest.param(LeakyReLU, {"alpha": 0.0}, lambda v: np.maximum(v, 0), id="leaky_relu-0"),
    pytest.param(Sigmoid, {}, np_sigmoid, id="sigmoid"),
    pytest.param(Tanh, {}, np.tanh, id="tanh"),
    pytest.param(Softmax, {}, np_softmax, id="softmax"),
]


@pytest.mark.parametrize("cls, kwargs, reference", ACTIVATION_LAYERS)
def test_activation_layer_values_and_gradients(rng, cls, kwargs, reference):
    layer = cls(dtype="float64", seed=3, **kwargs)
    x = away_from_zero(rng, (4, 6), 0.05, 3.0)
    r = rng.standard_normal((4, 6))
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y, reference(x), rtol=1e-14, atol=1e-15)
    dx = layer.backward(r.copy())
    assert_gradient(dx, numeric_gradient(lambda: float(np.sum(r * layer.forward(x, training=True))), x))


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5), (2, 1, 7)])
def test_flatten_values_and_gradient(rng, shape):
    layer = Flatten(dtype="float64")
    x = rng.standard_normal(shape)
    y = layer.forward(x)
    assert y.shape == (shape[0], math.prod(shape[1:]))
    np.testing.assert_array_equal(y, x.reshape(shape[0], -1))
    assert layer.output_shape(shape[1:]) == (math.prod(shape[1:]),)
    r = rng.standard_normal(y.shape)
    dx = layer.backward(r)
    assert dx.shape == shape
    assert_gradient(dx, numeric_gradient(lambda: float(np.sum(r * layer.forward(x))), x))


# -- the layer protocol -----------------------------------------------------------------------------


@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_protocol_and_values(rng, activation, dtype):
    layer = Dense(3, activation=activation, dtype=dtype, seed=11)
    assert not layer.built and layer.params == {}
    x = rng.standard_normal((4, 5)).astype(dtype)
    y = layer.forward(x)  # training=False by default; builds the layer
    assert layer.built and layer.input_shape == (5,)
    assert set(layer.params) == {"W", "b"}
    assert layer.params["W"].shape == (5, 3) and layer.params["b"].shape == (3,)
    assert layer.params["W"].dtype == dtype and layer.params["b"].dtype == dtype
    assert layer.count_params() == 18
    assert layer.output_shape((5,)) == (3,)
    assert y.shape == (4, 3) and y.dtype == dtype
    W, b = layer.params["W"].astype(np.float64), layer.params["b"].astype(np.float64)
    expected = np_activation(activation, x.astype(np.float64) @ W + b)
    tolerance = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(y, expected, rtol=tolerance, atol=tolerance)
    dy = rng.standard_normal((4, 3)).astype(dtype)
    dx = layer.backward(dy)
    assert dx.shape == x.shape and dx.dtype == dtype
    assert set(layer.grads) == {"W", "b"}
    assert layer.grads["W"].shape == (5, 3) and layer.grads["b"].shape == (3,)
    assert layer.grads["W"].dtype == dtype
    np.testing.assert_array_equal(layer(x), y)  # __call__ is forward


@pytest.mark.parametrize("activation", ["sigmoid", "softmax"])
def test_dense_logits_skip_the_output_activation(rng, activation):
    layer = Dense(4, activation=activation, dtype="float64", seed=2)
    x = rng.standard_normal((3, 5))
    assert layer.output_activation == activation
    z = layer.forward(x, training=True, logits=True)
    np.testing.assert_allclose(z, x @ layer.params["W"] + layer.params["b"], rtol=1e-12, atol=1e-14)
    r = rng.standard_normal((3, 4))
    dx = layer.backward(r)
    np.testing.assert_allclose(dx, r @ layer.params["W"].T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.grads["W"], x.T @ r, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.grads["b"], r.sum(axis=0), rtol=1e-12, atol=1e-14)
    assert Dense(4, activation="tanh").output_activation is None


@pytest.mark.parametrize("make", [
    lambda: ReLU(dtype="float32"), lambda: LeakyReLU(dtype="float64"), lambda: Sigmoid(dtype="float32"),
    lambda: Tanh(dtype="float64"), lambda: Softmax(dtype="float32"),
])
def test_activation_layers_follow_the_protocol(rng, make):
    layer = make()
    x = rng.standard_normal((3, 4, 2))
    y = layer.forward(x)
    assert layer.built and layer.input_shape == (4, 2)
    assert y.shape == x.shape and y.dtype == layer.dtype
    assert layer.params == {} and layer.count_params() == 0
    assert layer.output_shape((4, 2)) == (4, 2)
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == layer.dtype
    expect_shape_error(layer, rng.standard_normal((3, 4, 3)), (4, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_and_flatten_keep_the_layer_dtype(rng, dtype):
    for layer in (Dropout(0.5, seed=1), Flatten()):
        layer.dtype = np.dtype(dtype)
        x = rng.standard_normal((4, 3, 2)).astype(dtype)
        for training in (False, True):
            y = layer.forward(x, training=training)
            assert y.dtype == dtype
            assert layer.backward(np.ones_like(y)).dtype == dtype


def test_standalone_layers_default_to_float32(rng):
    for layer in (Dense(2), ReLU(), Dropout(0.5), Flatten()):
        y = layer.forward(rng.standard_normal((3, 4)), training=True)
        assert layer.dtype == np.float32 and y.dtype == np.float32


def test_dropout_accepts_a_dtype_like_every_layer(rng):
    layer = Dropout(0.5, dtype="float64", seed=1)
    assert layer.forward(rng.standard_normal((2, 3)), training=True).dtype == np.float64


def test_bad_input_shape_after_build_names_the_expected_shape(rng):
    dense = Dense(3, seed=0)
    dense.forward(rng.standard_normal((2, 5)))
    expect_shape_error(dense, rng.standard_normal((2, 4)), (5,))
    dropout = Dropout(0.3, seed=0)
    dropout.forward(rng.standard_normal((2, 6)))
    expect_shape_error(dropout, rng.standard_normal((2, 7)), (6,))
    flatten = Flatten()
    flatten.forward(rng.standard_normal((2, 3, 4)))
    expect_shape_error(flatten, rng.standard_normal((2, 4, 3)), (3, 4))
    expect_shape_error(flatten, rng.standard_normal((2, 12)), (3, 4))
    named = Dense(2, name="hidden", seed=0)
    named.forward(rng.standard_normal((1, 3)))
    with pytest.raises(ValueError, match="hidden"):
        named.forward(rng.standard_normal((1, 4)))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("activation, bad_shape", [("tanh", (4, 2)), ("softmax", (4, 1))])
def test_dense_backward_checks_the_gradient_shape(rng, training, activation, bad_shape):
    """In training the layer calls its kernel directly; a dy of the wrong shape still gets a clear
    error, also one that the softmax's backward would broadcast."""
    dense = Dense(3, activation=activation, seed=0)
    dense.forward(rng.standard_normal((4, 5)), training=training)
    message = r"dy must have the output's shape \(4, 3\). Received shape " + re.escape(str(bad_shape))
    with pytest.raises(ValueError, match=message):
        dense.backward(rng.standard_normal(bad_shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_training_and_inference_forward_agree_bitwise(rng, dtype):
    """Training takes the direct kernel call, inference the public op: same arithmetic."""
    dense = Dense(7, activation="sigmoid", dtype=dtype, seed=0)
    x = rng.standard_normal((9, 5)).astype(dtype)
    inference = dense.forward(x).copy()
    np.testing.assert_array_equal(dense.forward(x, training=True), inference)


def test_dense_on_3d_input_hints_at_flatten(rng):
    with pytest.raises(ValueError, match="Flatten"):
        Dense(3).forward(rng.standard_normal((2, 4, 5)))
    with pytest.raises(ValueError, match="Flatten"):
        Dense(3).build((4, 5))


def test_dense_input_dim_is_used_for_the_build(rng):
    layer = Dense(3, input_dim=4, seed=0)
    assert layer.input_dim == 4 and not layer.built
    layer.forward(rng.standard_normal((2, 4)))
    assert layer.params["W"].shape == (4, 3)


def test_dense_input_dim_rejects_other_feature_counts(rng):
    layer = Dense(3, input_dim=4, seed=0)
    with pytest.raises(ValueError, match=r"\(batch, 4\)"):
        layer.forward(rng.standard_normal((2, 5)))


# -- initialization -----------------------------------------------------------------------------------


def assert_variance(sample, var):
    """Mean 0 and variance ``var`` of a normal sample, within Z_BOUND standard errors."""
    x = np.asarray(sample, np.float64).ravel()
    n = x.size
    assert abs(x.mean()) < Z_BOUND * math.sqrt(var / n)
    assert abs(np.mean(x**2) - var) < Z_BOUND * math.sqrt(2 * var**2 / n), (np.mean(x**2), var)


@pytest.mark.parametrize("activation, gain2", [("relu", 2.0), ("leaky_relu", 2.0 / (1 + LEAKY_SLOPE**2))])
def test_auto_init_is_he_normal_for_the_relu_family(activation, gain2):
    fan_in, fan_out = 2000, 500
    layer = Dense(fan_out, activation=activation, dtype="float64", seed=20240601)
    layer.build((fan_in,))
    W = layer.params["W"]
    assert W.shape == (fan_in, fan_out)
    var = gain2 / fan_in
    assert_variance(W, var)
    # Normal, not uniform: a KS test against N(0, var) on a subsample.
    assert stats.kstest(W.ravel()[:200_000], stats.norm(scale=math.sqrt(var)).cdf).pvalue > ALPHA
    np.testing.assert_array_equal(layer.params["b"], 0.0)


@pytest.mark.parametrize("activation", [None, "sigmoid", "tanh", "softmax"])
def test_auto_init_is_xavier_uniform_otherwise(activation):
    fan_in, fan_out = (2000, 500) if activation is None else (300, 200)
    layer = Dense(fan_out, activation=activation, dtype="float64", seed=7)
    layer.build((fan_in,))
    W = layer.params["W"]
    bound = math.sqrt(6 / (fan_in + fan_out))
    assert np.all(np.abs(W) <= bound)
    assert np.max(np.abs(W)) > bound * (1 - 20 / W.size)  # the support reaches the bound
    assert stats.kstest(W.ravel()[:200_000], stats.uniform(loc=-bound, scale=2 * bound).cdf).pvalue > ALPHA


def test_named_kernel_init_is_used():
    layer = Dense(400, kernel_init="zeros", bias_init="ones", dtype="float64", seed=1)
    layer.build((300,))
    np.testing.assert_array_equal(layer.params["W"], 0.0)
    np.testing.assert_array_equal(layer.params["b"], 1.0)
    layer = Dense(400, activation="relu", kernel_init="lecun_normal", dtype="float64", seed=1)
    layer.build((1000,))
    assert_variance(layer.params["W"], 1 / 1000)  # LeCun, not He, despite relu


def test_same_seed_gives_the_same_weights():
    a, b, c = (Dense(7, seed=s) for s in (5, 5, 6))
    for layer in (a, b, c):
        layer.build((9,))
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert not np.array_equal(a.params["W"], c.params["W"])


def test_callable_initializers_are_used():
    calls = []

    def kernel(shape, seed=None):
        calls.append(("kernel", shape, seed))
        return np.arange(math.prod(shape), dtype=np.float64).reshape(shape)

    def bias(shape, *, seed, dtype):
        calls.append(("bias", shape, seed))
        return np.full(shape, 0.5, dtype)

    layer = Dense(3, kernel_init=kernel, bias_init=bias, dtype="float32", seed=123)
    layer.forward(np.ones((2, 4), np.float32))
    np.testing.assert_array_equal(layer.params["W"], np.arange(12).reshape(4, 3))
    np.testing.assert_array_equal(layer.params["b"], 0.5)
    assert layer.params["W"].dtype == np.float32 and layer.params["b"].dtype == np.float32
    assert [c[:2] for c in calls] == [("kernel", (4, 3)), ("bias", (3,))]
    assert all(isinstance(c[2], int) for c in calls)
    assert calls[0][2] != calls[1][2]  # W and b get different streams


def test_callable_initializer_of_the_wrong_shape_raises():
    layer = Dense(3, kernel_init=lambda shape, seed=None: np.zeros((2, 2)), seed=0)
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        layer.build((4,))


# -- constructor checks ----------------------------------------------------------------------------


@pytest.mark.parametrize("make, argument", [
    (lambda: Dense(0), "units"),
    (lambda: Dense(-3), "units"),
    (lambda: Dense(3, activation="gelu"), "activation"),
    (lambda: Dense(3, kernel_init="nope"), "kernel_init"),
    (lambda: Dense(3, bias_init="nope"), "bias_init"),
    (lambda: Dense(3, input_dim=0), "input_dim"),
    (lambda: Dense(3, kernel_regularizer="l3"), "kernel_regularizer"),
    (lambda: Dense(3, bias_regularizer="huber"), "bias_regularizer"),
    (lambda: Dropout(1.0), "rate"),
    (lambda: Dropout(-0.1), "rate"),
    (lambda: Dropout(float("nan")), "rate"),
    (lambda: Dropout(0.5, mode="x"), "mode"),
    (lambda: LeakyReLU(alpha=-0.1), "alpha"),
    (lambda: Dense(3, seed=-1), "seed"),
])
def test_bad_constructor_arguments_name_the_argument(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        make()


@pytest.mark.parametrize("make, argument", [
    (lambda: Dense(2.5), "units"),
    (lambda: Dense(True), "units"),
    (lambda: Dense(3, dtype="int32"), "dtype"),
    (lambda: Dropout("0.5"), "rate"),
])
def test_wrong_argument_types_raise_type_error(make, argument):
    with pytest.raises(TypeError, match=f"`{argument}`"):
        make()


# -- Dropout semantics ------------------------------------------------------------------------------


def documented_mask(shape, rate, seed, step):
    return fastnn.random.random_bits(shape, seed=seed, offset=step << 32) >= round(rate * 2**32)


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_inverted_dropout_scales_in_training_and_is_identity_at_inference(rng, rate):
    layer = Dropout(rate, seed=99)
    layer.dtype = F64
    x = rng.standard_normal((20, 30))
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    for step in range(2):
        y = layer.forward(x, training=True)
        mask = documented_mask(x.shape, rate, 99, step)
        np.testing.assert_allclose(y, np.where(mask, x / (1 - rate), 0.0), rtol=1e-15, atol=0)


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_classic_dropout_does_not_scale_in_training_and_scales_at_inference(rng, rate):
    layer = Dropout(rate, mode="classic", seed=99)
    layer.dtype = F64
    x = rng.standard_normal((20, 30))
    np.testing.assert_allclose(layer.forward(x), x * (1 - rate), rtol=1e-15)
    np.testing.assert_allclose(layer.backward(x), x * (1 - rate), rtol=1e-15)
    for step in range(2):
        y = layer.forward(x, training=True)
        np.testing.assert_array_equal(y, np.where(documented_mask(x.shape, rate, 99, step), x, 0.0))


@pytest.mark.parametrize("mode", ["inverted", "classic"])
@pytest.mark.parametrize("rate", [0.3, 0.7])
def test_expected_training_output_equals_inference_output(mode, rate):
    """E over masks of the training output == the inference output, for both conventions.

    Per element: the mean of K training outputs of a constant input lies in [0, c] (c the kept
    value), so by Hoeffding it is within c * sqrt(ln(2 n / p) / (2 K)) of its expectation for all n
    elements with probability 1 - p. Over all n * K draws the mean is within Z_BOUND standard errors.
    """
    steps, shape = 400, (10, 20)
    layer = Dropout(rate, mode=mode, seed=31337)
    layer.dtype = F64
    x = np.full(shape, 2.0)
    inference = layer.forward(x)
    total = np.zeros(shape)
    for _ in range(steps):
        total += layer.forward(x, training=True)
    assert layer.step == steps
    mean = total / steps
    kept_value = 2.0 / (1 - rate) if mode == "inverted" else 2.0
    n = x.size
    np.testing.assert_allclose(mean, inference, rtol=0, atol=kept_value * math.sqrt(math.log(2 * n / 1e-7) / (2 * steps)))
    sigma = kept_value * math.sqrt(rate * (1 - rate) / (n * steps))
    assert abs(mean.mean() - inference.mean()) < Z_BOUND * sigma
    np.testing.assert_allclose(inference, 2.0 if mode == "inverted" else 2.0 * (1 - rate), rtol=1e-15)


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_masks_differ_between_steps_and_repeat_for_the_same_seed_and_step(rng, mode):
    x = np.ones((50, 40))
    a, b, c = Dropout(0.5, mode=mode, seed=8), Dropout(0.5, mode=mode, seed=8), Dropout(0.5, mode=mode, seed=9)
    outputs_a = [a.forward(x, training=True) for _ in range(3)]
    outputs_b = [b.forward(x, training=True) for _ in range(3)]
    for ya, yb in zip(outputs_a, outputs_b):
        np.testing.assert_array_equal(ya, yb)
    # Independent masks at rate 0.5 agree on about half the elements (not all).
    for i in range(3):
        for j in range(i + 1, 3):
            assert 0.4 < np.mean((outputs_a[i] == 0) == (outputs_a[j] == 0)) < 0.6
    assert 0.4 < np.mean((c.forward(x, training=True) == 0) == (outputs_a[0] == 0)) < 0.6
    # Rewinding the step (directly or through set_state) reproduces that step's mask.
    assert a.get_state() == {"step": 3}
    a.set_state({"step": 1})
    np.testing.assert_array_equal(a.forward(x, training=True), outputs_a[1])
    a.step = 0
    np.testing.assert_array_equal(a.forward(x, training=True), outputs_a[0])
    # Inference does not advance the step.
    a.forward(x)
    assert a.step == 1


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_dropout_backward_uses_the_forward_mask(rng, mode):
    layer = Dropout(0.4, mode=mode, seed=4)
    layer.dtype = F64
    x = rng.standard_normal((8, 9))
    y = layer.forward(x, training=True)
    dy = rng.standard_normal((8, 9))
    dx = layer.backward(dy)
    kept = documented_mask(x.shape, 0.4, 4, 0)
    np.testing.assert_array_equal(y == 0, ~kept)
    scale = 1 / 0.6 if mode == "inverted" else 1.0
    np.testing.assert_allclose(dx, np.where(kept, dy * scale, 0.0), rtol=1e-15, atol=0)


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_rate_zero_is_the_identity(rng, mode):
    layer = Dropout(0.0, mode=mode, seed=1)
    layer.dtype = F64
    x = rng.standard_normal((5, 6))
    for training in (True, False):
        np.testing.assert_array_equal(layer.forward(x, training=training), x)
        np.testing.assert_array_equal(layer.backward(x), x)
