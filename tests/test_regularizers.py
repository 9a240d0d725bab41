"""Tests of fastnn.regularizers: penalties computed by hand, gradients against central
differences (away from 0) and the subgradient 0 of |w| at 0, defaults, argument checks, get, repr."""

import math

import numpy as np
import pytest

from conftest import numeric_gradient

from fastnn import regularizers
from fastnn.regularizers import L1, L1L2, L2


def away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.05, 2.0, size=shape)


def test_penalties_by_hand():
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    # Σ|w| = 3.5, Σw² = 5.25; dyadic factors make every step exact.
    assert L1(0.25)(w) == 0.875
    assert L2(0.5)(w) == 2.625
    assert L1L2(l1=0.25, l2=0.5)(w) == 0.875 + 2.625
    assert L1L2(l1=0.1, l2=0.5)(np.array([1.0, -2.0])) == pytest.approx(2.8, rel=1e-15)  # the docstring's example
    assert L1L2()(w) == 0.0
    assert isinstance(L1(0.25)(w), float)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_penalty_of_random_weights(rng, dtype):
    w = rng.standard_normal((30, 20)).astype(dtype)
    w64 = w.astype(np.float64)
    # float32 weights are squared in float32 (then summed in float64): float32-level accuracy.
    rel = 1e-12 if dtype == np.float64 else 1e-6
    assert L1L2(l1=0.3, l2=0.7)(w) == pytest.approx(0.3 * np.sum(np.abs(w64)) + 0.7 * np.sum(w64**2), rel=rel)


@pytest.mark.parametrize("regularizer", [L1(0.3), L2(0.2), L1L2(l1=0.1, l2=0.4), L1L2(l1=0.5)],
                         ids=["L1", "L2", "L1L2", "L1L2-l1-only"])
def test_gradient_matches_finite_differences(rng, regularizer):
    w = away_from_zero(rng, (4, 5))
    grad = regularizer.gradient(w)
    assert grad.shape == w.shape and grad.dtype == w.dtype
    np.testing.assert_allclose(grad, numeric_gradient(lambda: regularizer(w), w), rtol=1e-6, atol=1e-8)


def test_gradients_by_hand():
    w = np.array([1.5, -2.0, 0.0])
    np.testing.assert_array_equal(L1(0.25).gradient(w), [0.25, -0.25, 0.0])
    np.testing.assert_array_equal(L2(0.5).gradient(w), [1.5, -2.0, 0.0])
    np.testing.assert_array_equal(L1L2(l1=0.25, l2=0.5).gradient(w), [1.75, -2.25, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_l1_gradient_at_zero_is_zero(dtype):
    zeros = np.zeros((3, 4), dtype)
    for regularizer in (L1(0.5), L1L2(l1=0.5, l2=0.5)):
        grad = regularizer.gradient(zeros)
        assert grad.dtype == dtype
        np.testing.assert_array_equal(grad, 0.0)
        assert regularizer(zeros) == 0.0


def test_gradient_does_not_modify_the_weights(rng):
    w = rng.standard_normal(10)
    before = w.copy()
    L1L2(l1=0.1, l2=0.1).gradient(w)
    np.testing.assert_array_equal(w, before)


def test_defaults():
    assert L1().l1 == 0.01 and L1().l2 == 0.0
    assert L2().l2 == 0.01 and L2().l1 == 0.0
    assert L1L2().l1 == 0.0 and L1L2().l2 == 0.0
    w = np.array([3.0, -4.0])
    assert L1()(w) == pytest.approx(0.07, rel=1e-15)
    assert L2()(w) == pytest.approx(0.25, rel=1e-15)


@pytest.mark.parametrize("make, argument", [
    (lambda: L1(-0.1), "l1"),
    (lambda: L2(-1e-9), "l2"),
    (lambda: L1L2(l1=-1.0), "l1"),
    (lambda: L1L2(l2=-1.0), "l2"),
    (lambda: L1L2(l1=math.inf), "l1"),
    (lambda: L2(math.nan), "l2"),
])
def test_bad_factors_raise_value_error(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        make()


@pytest.mark.parametrize("make, argument", [(lambda: L1("0.1"), "l1"), (lambda: L2(True), "l2")])
def test_wrong_types_raise_type_error(make, argument):
    with pytest.raises(TypeError, match=f"`{argument}`"):
        make()


@pytest.mark.parametrize("name, cls, l1, l2", [
    ("l1", L1, 0.01, 0.0), ("l2", L2, 0.0, 0.01), ("l1_l2", L1L2, 0.0, 0.0),
    ("L1", L1, 0.01, 0.0), ("L2", L2, 0.0, 0.01), ("L1L2", L1L2, 0.0, 0.0),
])
def test_get_by_name(name, cls, l1, l2):
    regularizer = regularizers.get(name)
    assert type(regularizer) is cls
    assert (regularizer.l1, regularizer.l2) == (l1, l2)


def test_get_passes_instances_and_none_through_and_reads_saved_dicts():
    instance = L2(0.3)
    assert regularizers.get(instance) is instance
    assert regularizers.get(None) is None
    restored = regularizers.get({"class_name": "L1L2", "config": {"l1": 0.2, "l2": 0.3}})
    assert type(restored) is L1L2 and (restored.l1, restored.l2) == (0.2, 0.3)
    for original in (L1(0.5), L2(0.25), L1L2(l1=0.1, l2=0.2)):
        saved = regularizers.serialize(original)
        again = regularizers.get(saved)
        assert type(again) is type(original) and (again.l1, again.l2) == (original.l1, original.l2)
    assert regularizers.serialize(None) is None


@pytest.mark.parametrize("bad", ["l3", "", 0.01, ["l1"]])
def test_get_unknown_raises_value_error_naming_the_argument(bad):
    with pytest.raises(ValueError, match="`regularizer`"):
        regularizers.get(bad)
    with pytest.raises(ValueError, match="`kernel_regularizer`"):
        regularizers.get(bad, "kernel_regularizer")


def test_get_unknown_saved_class():
    with pytest.raises(ValueError, match="Huber"):
        regularizers.get({"class_name": "Huber", "config": {}})


def test_repr():
    assert repr(L1(0.5)) == "L1(l1=0.5)"
    assert repr(L2()) == "L2(l2=0.01)"
    assert repr(L1L2(l1=0.1, l2=0.2)) == "L1L2(l1=0.1, l2=0.2)"
