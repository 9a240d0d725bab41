"""Tests of fastnn.losses: values against hand-written float64 NumPy formulas (the mean over the
batch, per-sample mean over columns for MSE / binary cross-entropy, sum for the categorical ones),
gradients against central differences for the probability path and the logits path, the logits
path against the probability path composed with sigmoid / softmax, numerical stability at extreme
logits and at probabilities of exactly 0 and 1, and ``losses.get``.
"""

import math

import numpy as np
import pytest

from conftest import np_sigmoid, np_softmax, numeric_gradient

from fastnn import losses

RTOL, ATOL = 1e-6, 1e-8
EPS = 1e-7  # the documented clipping of probabilities


# -- references ----------------------------------------------------------------------------------


def ref_mse(y, p):
    return np.mean((p - y) ** 2)


def ref_bce(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def ref_cce(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -np.sum(y * np.log(p)) / len(p)


def ref_scce(labels, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -np.sum(np.log(p[np.arange(len(p)), labels])) / len(p)


def probabilities(rng, shape, low=0.05):
    """Rows of a softmax-like distribution with every entry >= low (away from the clip)."""
    p = rng.uniform(1.0, 2.0, size=shape)
    p /= p.sum(axis=-1, keepdims=True)
    return low + (1 - low * shape[-1]) * p


def one_hot(labels, classes):
    return np.eye(classes)[labels]


def case(name, rng, batch=5, columns=4):
    """(loss, y_true, y_pred in (0, 1) away from the clip) for each loss."""
    if name == "mse":
        return losses.MeanSquaredError(), rng.standard_normal((batch, columns)), rng.standard_normal((batch, columns))
    if name == "binary_crossentropy":
        return (losses.BinaryCrossentropy(), rng.uniform(0, 1, (batch, columns)),  # soft targets
                rng.uniform(0.05, 0.95, (batch, columns)))
    labels = rng.integers(0, columns, batch)
    if name == "categorical_crossentropy":
        return losses.CategoricalCrossentropy(), one_hot(labels, columns), probabilities(rng, (batch, columns))
    return losses.SparseCategoricalCrossentropy(), labels, probabilities(rng, (batch, columns))


REFERENCE = {"mse": ref_mse, "binary_crossentropy": ref_bce, "categorical_crossentropy": ref_cce,
             "sparse_categorical_crossentropy": ref_scce}
NAMES = list(REFERENCE)


# -- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(5, 4), (1, 3), (7, 1)])
def test_values_match_the_formulas(rng, name, shape):
    loss, y, p = case(name, rng, *shape)
    value = loss(y, p)
    assert isinstance(value, float)
    assert value == pytest.approx(REFERENCE[name](y, p), rel=1e-13)


def test_values_by_hand():
    y, p = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.5, 0.25], [0.75, 0.5]])
    assert losses.MeanSquaredError()(y, p) == pytest.approx((0.25 + 0.0625 + 0.5625 + 0.25) / 4, rel=1e-15)
    expected_bce = -(math.log(0.5) + math.log(0.75) + math.log(0.25) + math.log(0.5)) / 4
    assert losses.BinaryCrossentropy()(y, p) == pytest.approx(expected_bce, rel=1e-14)
    # Categorical: the sum over classes, the mean over the batch.
    assert losses.CategoricalCrossentropy()(y, p) == pytest.approx(-(math.log(0.5) + math.log(0.5)) / 2, rel=1e-14)
    soft = np.array([[0.5, 0.5], [0.0, 1.0]])
    expected_soft = -(0.5 * math.log(0.5) + 0.5 * math.log(0.25) + math.log(0.5)) / 2
    assert losses.CategoricalCrossentropy()(soft, p) == pytest.approx(expected_soft, rel=1e-14)
    assert losses.SparseCategoricalCrossentropy()(np.array([1, 0]), p) == \
        pytest.approx(-(math.log(0.25) + math.log(0.75)) / 2, rel=1e-14)


def test_float32_inputs_give_float64_accurate_values(rng):
    _, y, p = case("binary_crossentropy", rng)
    y32, p32 = y.astype(np.float32), p.astype(np.float32)
    assert losses.BinaryCrossentropy()(y32, p32) == pytest.approx(ref_bce(y32.astype(float), p32.astype(float)), rel=1e-6)


# -- gradients of the probability path ------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "mse", "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
])
def test_probability_gradient_matches_finite_differences(rng, name):
    loss, y, p = case(name, rng)
    grad = loss.gradient(y, p)
    assert grad.shape == p.shape
    np.testing.assert_allclose(grad, numeric_gradient(lambda: loss(y, p), p), rtol=RTOL, atol=ATOL)


def test_gradients_by_hand():
    y, p = np.array([[1.0, 0.0]]), np.array([[0.5, 0.25]])
    np.testing.assert_allclose(losses.MeanSquaredError().gradient(y, p), [[2 * -0.5 / 2, 2 * 0.25 / 2]], rtol=1e-15)
    # d/dp of -mean(y log p + (1 - y) log(1 - p)) = (p - y) / (p (1 - p)) / n
    np.testing.assert_allclose(losses.BinaryCrossentropy().gradient(y, p), [[-1 / 0.5 / 2, 1 / 0.75 / 2]], rtol=1e-14)


def test_categorical_gradient_by_hand():
    y, p = np.array([[1.0, 0.0], [0.25, 0.75]]), np.array([[0.3, 0.7], [0.5, 0.5]])
    np.testing.assert_allclose(losses.CategoricalCrossentropy().gradient(y, p),
                               [[-1 / 0.3 / 2, 0.0], [-0.25 / 0.5 / 2, -0.75 / 0.5 / 2]], rtol=1e-14)


def test_sparse_categorical_gradient_by_hand():
    p = np.array([[0.3, 0.7], [0.4, 0.6]])
    np.testing.assert_allclose(losses.SparseCategoricalCrossentropy().gradient(np.array([0, 1]), p),
                               [[-1 / 0.3 / 2, 0.0], [0.0, -1 / 0.6 / 2]], rtol=1e-14)


# -- the logits path --------------------------------------------------------------------------------


LOGIT_NAMES = ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]


def logits_case(name, rng, batch=5, columns=4):
    loss, y, _ = case(name, rng, batch, columns)
    if name == "categorical_crossentropy":
        y = rng.dirichlet(np.ones(columns), batch)  # soft targets, rows summing to 1
    return loss, y, rng.uniform(-4, 4, (batch, columns))


@pytest.mark.parametrize("name", LOGIT_NAMES)
def test_logits_gradient_matches_finite_differences(rng, name):
    loss, y, z = logits_case(name, rng)
    value, grad = loss.from_logits(y, z)
    assert isinstance(value, float) and grad.shape == z.shape
    np.testing.assert_allclose(grad, numeric_gradient(lambda: loss.from_logits(y, z)[0], z), rtol=RTOL, atol=ATOL)


def test_categorical_logits_gradient_with_targets_not_summing_to_one(rng):
    """The documented gradient (softmax(z) Σy - y) / batch holds for any non-negative targets."""
    loss = losses.CategoricalCrossentropy()
    y, z = rng.uniform(0, 1, (4, 3)), rng.uniform(-4, 4, (4, 3))
    value, grad = loss.from_logits(y, z)
    assert isinstance(value, float) and grad.shape == z.shape
    np.testing.assert_allclose(grad, numeric_gradient(lambda: loss.from_logits(y, z)[0], z), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", LOGIT_NAMES)
def test_logits_path_equals_the_probability_path_through_the_activation(rng, name):
    loss, y, z = logits_case(name, rng)
    p = np_sigmoid(z) if name == "binary_crossentropy" else np_softmax(z)
    assert loss.logits_activation == ("sigmoid" if name == "binary_crossentropy" else "softmax")
    value = loss.from_logits(y, z)[0]
    assert value == pytest.approx(loss(y, p), rel=1e-12)
    assert value == pytest.approx(REFERENCE[name](y, p), rel=1e-12)


def test_logits_gradients_by_hand(rng):
    """(sigmoid(z) - y) / n elements for BCE; (softmax(z) - y) / batch for the categorical losses."""
    z = rng.uniform(-4, 4, (3, 4))
    y = rng.uniform(0, 1, (3, 4))
    np.testing.assert_allclose(losses.BinaryCrossentropy().from_logits(y, z)[1], (np_sigmoid(z) - y) / 12, rtol=1e-13, atol=1e-16)
    labels = np.array([2, 0, 3])
    np.testing.assert_allclose(losses.CategoricalCrossentropy().from_logits(one_hot(labels, 4), z)[1],
                               (np_softmax(z) - one_hot(labels, 4)) / 3, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(losses.SparseCategoricalCrossentropy().from_logits(labels, z)[1],
                               (np_softmax(z) - one_hot(labels, 4)) / 3, rtol=1e-13, atol=1e-16)


def test_chain_rule_of_the_binary_probability_gradient(rng):
    """gradient(y, sigmoid(z)) * sigmoid'(z) is the logits gradient."""
    loss = losses.BinaryCrossentropy()
    z, y = rng.uniform(-4, 4, (4, 3)), rng.uniform(0, 1, (4, 3))
    p = np_sigmoid(z)
    np.testing.assert_allclose(loss.gradient(y, p) * p * (1 - p), loss.from_logits(y, z)[1], rtol=1e-9, atol=1e-15)


def test_mse_takes_no_logits(rng):
    loss = losses.MeanSquaredError()
    assert loss.logits_activation is None
    with pytest.raises(NotImplementedError):
        loss.from_logits(np.zeros((2, 2)), np.zeros((2, 2)))


# -- numerical stability ---------------------------------------------------------------------------


@pytest.mark.parametrize("big", [1e4, 1e30])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_crossentropy_from_extreme_logits(big, dtype):
    z = np.array([[big, big, -big, -big]], dtype)
    y = np.array([[0.0, 1.0, 1.0, 0.0]], dtype)
    value, grad = losses.BinaryCrossentropy().from_logits(y, z)
    # Per element: z = +big, y = 0 costs big; z = +big, y = 1 costs 0; and symmetrically.
    assert math.isfinite(value)
    assert value == pytest.approx((big + 0 + big + 0) / 4, rel=1e-6)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[0.25, 0.0, -0.25, 0.0]], atol=1e-7)
    # Half-sure targets: max(z, 0) - z y + log(1 + exp(-|z|)) = big / 2 either way.
    half = np.full((1, 2), 0.5, dtype)
    value, grad = losses.BinaryCrossentropy().from_logits(half, np.array([[big, -big]], dtype))
    assert value == pytest.approx(big / 2, rel=1e-6)
    np.testing.assert_allclose(grad, [[0.25, -0.25]], atol=1e-7)


@pytest.mark.parametrize("big", [1e4, 1e30])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_categorical_crossentropies_from_extreme_logits(big, dtype):
    z = np.array([[big, 0.0, -big]] * 3, dtype)
    labels = np.array([0, 1, 2])
    # -log_softmax: 0 for the top class, big for the middle one, 2 big for the bottom one.
    expected_value = (0 + big + 2 * big) / 3
    expected_grad = (np.array([[1.0, 0.0, 0.0]] * 3) - one_hot(labels, 3)) / 3
    for value, grad in (losses.CategoricalCrossentropy().from_logits(one_hot(labels, 3).astype(dtype), z),
                        losses.SparseCategoricalCrossentropy().from_logits(labels, z)):
        assert math.isfinite(value) and np.all(np.isfinite(grad))
        assert value == pytest.approx(expected_value, rel=1e-6)
        np.testing.assert_allclose(grad, expected_grad, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch, classes", [(1, 1), (1, 7), (128, 10), (37, 1000)])
def test_sparse_logits_path_matches_float64_reference(rng, dtype, batch, classes):
    """The one-pass C++ loss and gradient against a float64 NumPy softmax, scaled logits included."""
    z = (rng.standard_normal((batch, classes)) * 30).astype(dtype)
    labels = rng.integers(0, classes, batch)
    value, grad = losses.SparseCategoricalCrossentropy().from_logits(labels, z)
    z64 = z.astype(np.float64)
    shifted = z64 - z64.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert grad.dtype == dtype and grad.shape == z.shape
    assert value == pytest.approx(-log_p[np.arange(batch), labels].mean(), rel=1e-12, abs=1e-12)
    expected = (np.exp(log_p) - one_hot(labels, classes)) / batch
    # exp's argument z - max - log(sum) carries an absolute rounding of a few eps times the
    # row's largest |z| (hundreds here), which becomes p's relative error; p - 1 cancels, so the
    # bound scales with the terms, p + 1, not with their difference.
    magnitude = (np.exp(log_p) + one_hot(labels, classes)) / batch
    largest = np.abs(z64).max(axis=1, keepdims=True)
    bound = (4 * np.finfo(dtype).eps + 8 * np.finfo(np.float64).eps * (1 + largest)) * magnitude
    assert np.all(np.abs(grad - expected) <= bound + np.finfo(dtype).tiny)


def test_sparse_logits_path_edge_cases():
    loss = losses.SparseCategoricalCrossentropy()
    value, grad = loss.from_logits(np.zeros(0, np.int64), np.zeros((0, 3), np.float32))
    assert value == 0.0 and grad.shape == (0, 3)
    assert math.isnan(loss.from_logits(np.array([0, 1]), np.array([[0.0, 1.0], [np.nan, 1.0]]))[0])
    assert math.isnan(loss.from_logits(np.array([0]), np.array([[np.inf, 1.0]]))[0])
    with pytest.raises(ValueError, match=r"`labels` must hold class indices in \[0, 3\)\. Received 3"):
        loss.from_logits(np.array([0, 3]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Received -1"):
        loss.from_logits(np.array([-1, 0]), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="integer class labels"):
        loss.from_logits(np.array([0.0, 1.0]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`labels` has the wrong shape"):
        loss.from_logits(np.array([0, 1, 2]), np.zeros((2, 3)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_probabilities_of_exactly_0_and_1_give_finite_values(dtype):
    y = np.array([[1.0, 0.0], [0.0, 1.0]], dtype)
    p = np.array([[0.0, 1.0], [1.0, 0.0]], dtype)  # confidently wrong everywhere
    # Clipped to [EPSILON, 1 - EPSILON], as rounded to the inputs' dtype (1 - 1e-7 is 1 - 2**-23 in float32).
    low, high = float(dtype(EPS)), float(dtype(1 - EPS))
    assert losses.BinaryCrossentropy()(y, p) == pytest.approx(-(math.log(low) + math.log1p(-high)) / 2, rel=1e-6)
    assert losses.CategoricalCrossentropy()(y, p) == pytest.approx(-math.log(low), rel=1e-6)
    assert losses.SparseCategoricalCrossentropy()(np.array([0, 1]), p) == pytest.approx(-math.log(low), rel=1e-6)
    # Confidently right: the loss of the clip bound 1 - EPSILON, about EPSILON.
    assert 0 <= losses.BinaryCrossentropy()(y, y) < 2 * EPS
    assert 0 <= losses.CategoricalCrossentropy()(y, y) < 2 * EPS
    assert 0 <= losses.SparseCategoricalCrossentropy()(np.array([0, 1]), y) < 2 * EPS
    grad = losses.BinaryCrossentropy().gradient(y, p)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("name", [
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
])
def test_categorical_gradients_at_probabilities_0_and_1_are_finite(name):
    p = np.array([[0.0, 1.0], [1.0, 0.0]])
    y = np.array([0, 1]) if name.startswith("sparse") else np.eye(2)
    assert np.all(np.isfinite(losses.get(name).gradient(y, p)))


# -- get -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, cls", [
    ("mse", losses.MeanSquaredError), ("mean_squared_error", losses.MeanSquaredError),
    ("binary_crossentropy", losses.BinaryCrossentropy),
    ("categorical_crossentropy", losses.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
])
def test_get_by_name(name, cls):
    loss = losses.get(name)
    assert type(loss) is cls
    assert loss.name == ("mse" if cls is losses.MeanSquaredError else name)
    assert losses.get(loss) is loss


@pytest.mark.parametrize("bad", ["hinge", "MSE", "", 3, None])
def test_get_unknown_names_the_argument(bad):
    # An unknown name is a ValueError; a non-string a TypeError (the package's rule).
    with pytest.raises(ValueError if isinstance(bad, str) else TypeError, match="`loss`"):
        losses.get(bad)


def test_target_kinds():
    assert losses.get("sparse_categorical_crossentropy").target_kind == "sparse"
    assert all(losses.get(name).target_kind == "dense" for name in NAMES[:3])
