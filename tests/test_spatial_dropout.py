"""Tests of SpatialDropout1D/2D/3D (``fastnn.ops.spatial_dropout``) and GaussianDropout: the documented
mask and noise streams (Dropout's Philox rule, one draw per sample and channel; fastnn's normal fill),
scaling, statistics, gradients (central differences in float64), inference identity, thread-count
independence, Sequential (fit, summary, save/load of the step counters) and bad input."""

import math

import numpy as np
import pytest

from conftest import num_threads, numeric_gradient

import fastnn
from fastnn import ops
from fastnn.layers import Dense, Flatten, GaussianDropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D

DTYPES = [np.float32, np.float64]
SPATIAL = {SpatialDropout1D: (7,), SpatialDropout2D: (5, 3), SpatialDropout3D: (2, 3, 4)}


def documented_channel_mask(batch, channels, rate, seed, offset):
    """Dropout's rule on the draws at offset + n * channels + c."""
    bits = fastnn.random.random_bits((batch, channels), seed=seed, offset=offset)
    return bits >= round(rate * 2**32)


# -- spatial dropout ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", list(SPATIAL))
@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_whole_channels_follow_the_documented_mask(rng, dtype, cls, rate):
    batch, channels = 6, 9
    x = rng.normal(size=(batch, *SPATIAL[cls], channels)).astype(dtype)
    layer = cls(rate, seed=77, dtype=dtype)
    for step in range(3):
        y = layer.forward(x, training=True)
        mask = documented_channel_mask(batch, channels, rate, 77, step * 2**32)
        expanded = mask.reshape(batch, *(1,) * cls.rank, channels)
        np.testing.assert_array_equal(y, np.where(expanded, x * dtype(1 / (1 - rate)), 0))
        assert y.dtype == dtype
        dy = rng.normal(size=x.shape).astype(dtype)
        np.testing.assert_array_equal(layer.backward(dy), np.where(expanded, dy * dtype(1 / (1 - rate)), 0))
    assert layer.step == 3


def test_kept_fraction_within_binomial_bound():
    batch, channels, rate = 2000, 500, 0.3
    y = ops.spatial_dropout(np.ones((batch, 2, channels)), rate, seed=3)
    kept = int((y[:, 0, :] != 0).sum())
    n = batch * channels
    assert abs(kept - n * (1 - rate)) < 6 * math.sqrt(n * rate * (1 - rate))  # false alarm ~2e-9
    np.testing.assert_array_equal(y[:, 0, :], y[:, 1, :])


@pytest.mark.parametrize("cls", list(SPATIAL))
def test_spatial_dropout_gradient_matches_finite_differences(rng, cls):
    layer = cls(0.4, seed=5, dtype="float64")
    x = rng.normal(size=(3, *SPATIAL[cls], 4))
    r = rng.normal(size=x.shape)

    def loss():
        layer.step = 0  # the same mask for every evaluation
        return float(np.sum(r * layer.forward(x, training=True)))

    loss()
    np.testing.assert_allclose(layer.backward(r), numeric_gradient(loss, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cls", [*SPATIAL, GaussianDropout])
def test_identity_at_inference_and_at_rate_zero(rng, cls):
    shape = (4, *SPATIAL.get(cls, (3,)), 5)
    x = rng.normal(size=shape).astype(np.float32)
    layer = cls(0.5, seed=1)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    assert layer.step == 0
    np.testing.assert_array_equal(cls(0.0).forward(x, training=True), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_spatial_dropout_bitwise_identical_for_any_thread_count(rng, dtype):
    x = rng.normal(size=(8, 64, 64, 16)).astype(dtype)
    results = []
    for threads in (1, 2):
        with num_threads(threads):
            results.append(ops.spatial_dropout(x, 0.5, seed=9, offset=11))
    np.testing.assert_array_equal(*results)


# -- Gaussian dropout ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_gaussian_noise_is_the_documented_normal_draw(rng, dtype, rate):
    x = rng.normal(size=(40, 3, 5)).astype(dtype)
    layer = GaussianDropout(rate, seed=21, dtype=dtype)
    stddev = math.sqrt(rate / (1 - rate))
    for step in range(2):
        noise = fastnn.random.normal(x.shape, 1.0, stddev, seed=21, offset=step * 2**32, dtype=dtype)
        y = layer.forward(x, training=True)
        np.testing.assert_array_equal(y, x * noise)
        dy = rng.normal(size=x.shape).astype(dtype)
        np.testing.assert_array_equal(layer.backward(dy), dy * noise)


def test_gaussian_noise_has_mean_one_and_variance_rate_over_one_minus_rate():
    rate, n = 0.3, 1_000_000
    y = GaussianDropout(rate, seed=4, dtype="float64").forward(np.ones((n, 1)), training=True)
    variance = rate / (1 - rate)
    assert abs(y.mean() - 1) < 6 * math.sqrt(variance / n)
    assert abs(y.var() - variance) < 6 * variance * math.sqrt(2 / n)


def test_gaussian_dropout_gradient_matches_finite_differences(rng):
    layer = GaussianDropout(0.4, seed=5, dtype="float64")
    x = rng.normal(size=(3, 4, 2))
    r = rng.normal(size=x.shape)

    def loss():
        layer.step = 0
        return float(np.sum(r * layer.forward(x, training=True)))

    loss()
    np.testing.assert_allclose(layer.backward(r), numeric_gradient(loss, x), rtol=1e-6, atol=1e-8)


# -- in a model ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_in_sequential_fit_save_and_resume(rng, tmp_path, dtype):
    x = rng.normal(size=(32, 6, 6, 3))
    y = rng.integers(0, 2, 32)

    def model():
        m = fastnn.Sequential([SpatialDropout2D(0.3), GaussianDropout(0.2), Flatten(), Dense(2)], seed=8, dtype=dtype)
        m.compile("adam", "sparse_categorical_crossentropy")
        return m

    straight = model()
    straight.fit(x, y, epochs=2, batch_size=8, verbose=0)
    first = model()
    first.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert "SpatialDropout2D" in first.summary(print_fn=lambda _: None)
    first.save(tmp_path / "m.npz")
    resumed = fastnn.load_model(tmp_path / "m.npz")
    assert resumed.layers[0].step == resumed.layers[1].step == 4
    assert resumed.layers[0].rate == 0.3 and resumed.layers[1].rate == 0.2
    resumed.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(resumed.predict(x), straight.predict(x))


def test_spatial_dropout_after_dense_fails_at_build_rather_than_fusing():
    with pytest.raises(ValueError, match="SpatialDropout1D needs 3-D inputs"):
        fastnn.Sequential([Dense(4, input_dim=3), SpatialDropout1D(0.5)], seed=1)


# -- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [*SPATIAL, GaussianDropout])
@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_bad_rate_names_the_argument(cls, rate):
    with pytest.raises(ValueError, match="`rate`"):
        cls(rate)


@pytest.mark.parametrize("cls, shape", [(SpatialDropout1D, (2, 5)), (SpatialDropout2D, (2, 5, 3)),
                                        (SpatialDropout3D, (2, 5, 3, 3))])
def test_spatial_dropout_wrong_rank_raises(rng, cls, shape):
    with pytest.raises(ValueError, match="inputs"):
        cls(0.5).forward(rng.normal(size=shape), training=True)


def test_ops_spatial_dropout_rejects_flat_input():
    with pytest.raises(ValueError, match="`x`"):
        ops.spatial_dropout(np.ones((4, 5)), 0.5, seed=0)
