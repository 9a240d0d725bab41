"""Tests of batch normalization: ``fastnn.ops.batch_norm`` / ``batch_norm_backward`` against float64
NumPy formulas, the BatchNormalization layer's gradients (central differences), its training /
inference switch and moving statistics, its place in Sequential (weights, saving, fit), bitwise
equality across thread counts, and bad input.

References are written here from the documented formulas (Keras's semantics: biased batch
variance, moving = momentum * moving + (1 - momentum) * batch), never taken from the code under test.
"""

import numpy as np
import pytest

from conftest import assert_layer_gradients, np_sigmoid, num_threads, numeric_gradient

import fastnn
from fastnn import ops
from fastnn.layers import BatchNormalization, Conv2D, Dense, Flatten, LeakyReLU, ReLU, Residual, Tanh

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
GRAD_TOL = dict(rtol=1e-6, atol=1e-8)
# Row counts around the kernel's chunking (32-row minimum, 16384 values a chunk), one channel, and
# feature counts around its slabs (16 doubles, 32 floats: one less, one more, several and a tail).
SHAPES = [(1, 3), (2, 1), (31, 5), (33, 64), (700, 3), (5, 4, 3), (3, 5, 4, 2), (2, 3, 4, 5, 6), (4, 300, 70),
          (9, 15), (9, 17), (40, 31), (40, 33)]


def reference_forward(x, gamma, beta, epsilon, mean=None, variance=None):
    """float64 y, mean, variance over every axis but the last."""
    x = x.astype(np.float64)
    axes = tuple(range(x.ndim - 1))
    if mean is None:
        mean = x.mean(axis=axes)
        variance = ((x - mean) ** 2).mean(axis=axes)
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta, mean, variance


def reference_backward(dy, x, gamma, mean, variance, epsilon, batch_statistics):
    dy, x = dy.astype(np.float64), x.astype(np.float64)
    axes = tuple(range(x.ndim - 1))
    rows = x.size // x.shape[-1]
    inverse_std = 1.0 / np.sqrt(variance.astype(np.float64) + epsilon)
    x_hat = (x - mean) * inverse_std
    dbeta, dgamma = dy.sum(axis=axes), (dy * x_hat).sum(axis=axes)
    if batch_statistics:
        dx = gamma * inverse_std * (dy - dbeta / rows - x_hat * dgamma / rows)
    else:
        dx = gamma * inverse_std * dy
    return dx, dgamma, dbeta


def random_case(rng, shape, dtype):
    features = shape[-1]
    x = rng.normal(rng.uniform(-3, 3, features), rng.uniform(0.2, 4, features), size=shape).astype(dtype)
    gamma = rng.uniform(0.5, 2, features).astype(dtype)
    beta = rng.normal(size=features).astype(dtype)
    return x, gamma, beta


# -- the ops -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_training_forward_matches_the_formula(rng, dtype, shape):
    x, gamma, beta = random_case(rng, shape, dtype)
    y, mean, variance = ops.batch_norm(x, gamma, beta, epsilon=1e-3)
    ref_y, ref_mean, ref_variance = reference_forward(x, gamma, beta, 1e-3)
    assert y.dtype == mean.dtype == variance.dtype == dtype and y.shape == x.shape
    np.testing.assert_allclose(mean, ref_mean, **TOL[dtype])
    np.testing.assert_allclose(variance, ref_variance, **TOL[dtype])
    np.testing.assert_allclose(y, ref_y, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 3), (33, 64), (3, 5, 4, 2), (2, 3, 4, 5, 6)])
def test_inference_forward_uses_the_given_statistics(rng, dtype, shape):
    x, gamma, beta = random_case(rng, shape, dtype)
    mean = rng.normal(size=shape[-1]).astype(dtype)
    variance = rng.uniform(0.1, 3, shape[-1]).astype(dtype)
    y, used_mean, used_variance = ops.batch_norm(x, gamma, beta, epsilon=1e-2, mean=mean, variance=variance)
    np.testing.assert_allclose(y, reference_forward(x, gamma, beta, 1e-2, mean, variance)[0], **TOL[dtype])
    np.testing.assert_array_equal(used_mean, mean)
    np.testing.assert_array_equal(used_variance, variance)


def test_variance_is_stable_far_from_zero(rng):
    """Values around 1e8 with unit spread: E[x²] − E[x]² would lose every digit in float64."""
    x = 1e8 + rng.normal(size=(5000, 4))
    _, mean, variance = ops.batch_norm(x, np.ones(4), np.zeros(4))
    ref_mean = x.mean(axis=0)
    np.testing.assert_allclose(variance, ((x - ref_mean) ** 2).mean(axis=0), rtol=1e-7)


def test_constant_feature_normalizes_to_beta():
    x = np.full((40, 2), 7.5, np.float32)
    y, _, variance = ops.batch_norm(x, np.array([2.0, 3.0], np.float32), np.array([0.5, -1.0], np.float32))
    np.testing.assert_array_equal(variance, [0, 0])
    np.testing.assert_array_equal(y, np.broadcast_to(np.array([0.5, -1.0], np.float32), x.shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_statistics", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_backward_matches_the_formula(rng, dtype, batch_statistics, shape):
    x, gamma, _ = random_case(rng, shape, dtype)
    dy = rng.normal(size=shape).astype(dtype)
    mean = x.astype(np.float64).mean(axis=tuple(range(x.ndim - 1))).astype(dtype)
    variance = rng.uniform(0.5, 2, shape[-1]).astype(dtype)
    dx, dgamma, dbeta = ops.batch_norm_backward(dy, x, gamma, mean, variance, epsilon=1e-3,
                                                batch_statistics=batch_statistics)
    ref_dx, ref_dgamma, ref_dbeta = reference_backward(dy, x, gamma, mean, variance, 1e-3, batch_statistics)
    scale = np.sqrt(x.size // x.shape[-1])  # sums over the rows: tolerance grows with them
    tol = dict(rtol=TOL[dtype]["rtol"] * scale, atol=TOL[dtype]["atol"] * scale)
    np.testing.assert_allclose(dbeta, ref_dbeta, **tol)
    np.testing.assert_allclose(dgamma, ref_dgamma, **tol)
    np.testing.assert_allclose(dx, ref_dx, **tol)
    assert ops.batch_norm_backward(dy, x, gamma, mean, variance, input_grad=False)[0] is None


# A following activation, applied in the normalization pass: its value and its derivative through
# the output y (ReLU-type derivatives at 0 take the left value).
ACTIVATIONS = {
    "relu": (lambda z, a: np.maximum(z, 0), lambda y, a: (y > 0).astype(float)),
    "leaky_relu": (lambda z, a: np.where(z < 0, a * z, z), lambda y, a: np.where(y > 0, 1.0, a)),
    "sigmoid": (lambda z, a: np_sigmoid(z), lambda y, a: y * (1 - y)),
    "tanh": (lambda z, a: np.tanh(z), lambda y, a: 1 - y * y),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(31, 5), (4, 300, 70), (40, 33)])
def test_fused_activation_matches_the_formula(rng, dtype, training, activation, shape):
    x, gamma, beta = random_case(rng, shape, dtype)
    act, derivative = ACTIVATIONS[activation]
    alpha = 0.2
    stats = {} if training else dict(mean=rng.normal(size=shape[-1]).astype(dtype),
                                      variance=rng.uniform(0.5, 2, shape[-1]).astype(dtype))
    y, mean, variance = ops.batch_norm(x, gamma, beta, activation=activation, alpha=alpha, **stats)
    z = reference_forward(x, gamma, beta, 1e-3, stats.get("mean"), stats.get("variance"))[0]
    np.testing.assert_allclose(y, act(z, alpha), **TOL[dtype])

    dy = rng.normal(size=shape).astype(dtype)
    dx, dgamma, dbeta = ops.batch_norm_backward(dy, x, gamma, mean, variance, batch_statistics=training, y=y,
                                                activation=activation, alpha=alpha)
    g = dy * derivative(y.astype(np.float64), alpha)  # through the kernel's own y, as the derivative is defined
    ref_dx, ref_dgamma, ref_dbeta = reference_backward(g, x, gamma, mean, variance, 1e-3, training)
    scale = np.sqrt(x.size // x.shape[-1])
    tol = dict(rtol=TOL[dtype]["rtol"] * scale, atol=TOL[dtype]["atol"] * scale)
    np.testing.assert_allclose(dbeta, ref_dbeta, **tol)
    np.testing.assert_allclose(dgamma, ref_dgamma, **tol)
    np.testing.assert_allclose(dx, ref_dx, **tol)


def test_fused_activation_needs_y_and_a_known_name(rng):
    x = rng.normal(size=(4, 3))
    gamma, mean, variance = np.ones(3), np.zeros(3), np.ones(3)
    with pytest.raises(ValueError, match="activation"):
        ops.batch_norm(x, gamma, np.zeros(3), activation="swish")
    with pytest.raises(ValueError, match="`alpha`"):
        ops.batch_norm(x, gamma, np.zeros(3), activation="leaky_relu", alpha=-1.0)
    with pytest.raises(ValueError, match="`y`"):
        ops.batch_norm_backward(x, x, gamma, mean, variance, activation="relu")
    with pytest.raises(ValueError, match="`y`"):
        ops.batch_norm_backward(x, x, gamma, mean, variance, activation="relu", y=np.ones((4, 4)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bitwise_identical_for_any_thread_count(rng, dtype):
    x, gamma, beta = random_case(rng, (16, 16, 16, 64), dtype)  # 16 chunks of 256 rows
    dy = rng.normal(size=x.shape).astype(dtype)
    results = []
    for threads in (1, 2):
        with num_threads(threads):
            y, mean, variance = ops.batch_norm(x, gamma, beta)
            results.append((y, mean, variance, *ops.batch_norm_backward(dy, x, gamma, mean, variance)))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


# -- the layer -----------------------------------------------------------------------------------------


def layer64(input_shape, rng, **kwargs):
    layer = BatchNormalization(dtype="float64", **kwargs)
    layer.build(input_shape)
    for name in layer.params:
        layer.params[name][...] = rng.uniform(0.5, 1.5, layer.params[name].shape)
    return layer


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, axis", [((6, 4), -1), ((3, 4, 5, 3), -1), ((2, 3, 4), 1), ((2, 3, 2, 2, 3), -1),
                                         ((4, 3, 2, 2), 1)])
@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False)])
def test_layer_gradients_match_finite_differences(rng, training, shape, axis, center, scale):
    layer = layer64(shape[1:], rng, axis=axis, center=center, scale=scale, momentum=0.5)
    layer.non_trainable_weights["moving_mean"][...] = rng.normal(size=shape[axis])
    layer.non_trainable_weights["moving_variance"][...] = rng.uniform(0.5, 2, shape[axis])
    x = rng.normal(size=shape)
    r = rng.normal(size=shape)
    moving = {k: v.copy() for k, v in layer.non_trainable_weights.items()}

    def loss():
        value = float(np.sum(r * layer.forward(x, training=training)))
        for k, v in moving.items():  # each training call moves the statistics: keep them fixed
            layer.non_trainable_weights[k][...] = v
        return value

    loss()
    dx = layer.backward(r)
    np.testing.assert_allclose(dx, numeric_gradient(loss, x), **GRAD_TOL)
    for name in layer.params:
        np.testing.assert_allclose(layer.grads[name], numeric_gradient(loss, layer.params[name]), **GRAD_TOL)
    assert set(layer.params) == {name for name, learned in (("gamma", scale), ("beta", center)) if learned}


def unfuse(layers):
    for layer in layers:
        layer.fused_into = None
        if isinstance(layer, BatchNormalization):
            layer.fused_activation = None
        if isinstance(layer, Residual):
            unfuse(layer.layers)


def test_a_following_activation_fuses_and_trains_exactly_as_unfused(rng):
    """Sequential computes an activation that follows a BatchNormalization in its normalization
    pass, in a Residual branch too; a training step and inference give bitwise what the layers
    give run one by one."""
    def network():
        return fastnn.Sequential([Conv2D(4, 3, padding="same"), BatchNormalization(), ReLU(),
                                  Residual(Conv2D(4, 3, padding="same"), BatchNormalization(), LeakyReLU(0.1)),
                                  Flatten(), Dense(3)], seed=3)

    fused, unfused = network(), network()
    for model in (fused, unfused):
        model.compile("sgd", "mse")
        model.build((5, 5, 2))
    _, norm, relu, residual, *_ = fused.layers
    assert norm.fused_activation is relu and relu.fused_into is norm
    inner_norm, inner_leaky = residual.layers[1], residual.layers[2]
    assert inner_norm.fused_activation is inner_leaky and inner_leaky.fused_into is inner_norm
    unfuse(unfused.layers)
    x = rng.normal(size=(6, 5, 5, 2)).astype(np.float32)
    y = rng.normal(size=(6, 3)).astype(np.float32)
    losses = [model._train_step_unchecked(x, y)[0] for model in (fused, unfused)]
    assert losses[0] == losses[1]
    for got, want in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(fused.predict(x), unfused.predict(x))


@pytest.mark.parametrize("activation", [Tanh(), LeakyReLU(0.3)])
@pytest.mark.parametrize("training", [True, False])
def test_fused_activation_gradients_match_finite_differences(rng, activation, training):
    layer = layer64((3, 4, 5), rng)
    layer.non_trainable_weights["moving_variance"][...] = rng.uniform(0.5, 2, 5)
    layer.fused_activation = activation
    if training:
        assert_layer_gradients(layer, rng.normal(size=(2, 3, 4, 5)), rng, **GRAD_TOL)
        return
    x, r = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 4, 5))

    def loss():
        return float(np.sum(r * layer.forward(x, training=False)))

    loss()
    np.testing.assert_allclose(layer.backward(r), numeric_gradient(loss, x), **GRAD_TOL)


def test_moving_statistics_follow_the_keras_update(rng):
    layer = BatchNormalization(momentum=0.9, dtype="float64")
    expected_mean, expected_variance = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.normal(2, 3, size=(20, 4, 3))
        layer.forward(x, training=True)
        flat = x.reshape(-1, 3)
        expected_mean = 0.9 * expected_mean + 0.1 * flat.mean(axis=0)
        expected_variance = 0.9 * expected_variance + 0.1 * flat.var(axis=0)  # biased, as Keras
    np.testing.assert_allclose(layer.non_trainable_weights["moving_mean"], expected_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.non_trainable_weights["moving_variance"], expected_variance, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_uses_the_batch_and_inference_the_moving_statistics(rng, dtype):
    layer = BatchNormalization(epsilon=1e-3, dtype=dtype)
    x = rng.normal(5, 2, size=(50, 6)).astype(dtype)
    before = layer.forward(x, training=False)  # moving stats 0 and 1: almost the identity
    np.testing.assert_allclose(before, x / np.sqrt(1 + 1e-3), **TOL[dtype])
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y, reference_forward(x, 1, 0, 1e-3)[0], **TOL[dtype])
    moving_mean = layer.non_trainable_weights["moving_mean"].astype(np.float64)
    moving_variance = layer.non_trainable_weights["moving_variance"].astype(np.float64)
    after = layer.forward(x, training=False)
    np.testing.assert_allclose(after, reference_forward(x, 1, 0, 1e-3, moving_mean, moving_variance)[0],
                               **TOL[dtype])
    assert after.dtype == dtype


def test_inference_does_not_move_the_statistics(rng):
    layer = BatchNormalization()
    x = rng.normal(size=(8, 3)).astype(np.float32)
    layer.forward(x, training=False)
    np.testing.assert_array_equal(layer.non_trainable_weights["moving_mean"], 0)
    np.testing.assert_array_equal(layer.non_trainable_weights["moving_variance"], 1)


def test_keras_weights_and_defaults():
    layer = BatchNormalization()
    layer.build((5, 5, 8))
    assert (layer.axis, layer.momentum, layer.epsilon, layer.center, layer.scale) == (-1, 0.99, 1e-3, True, True)
    assert list(layer.params) == ["gamma", "beta"]
    assert list(layer.weights) == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert layer.count_params() == 32 and layer.output_shape((5, 5, 8)) == (5, 5, 8)


# -- in a model ------------------------------------------------------------------------------------------


def bn_model(dtype="float32", seed=3):
    return fastnn.Sequential([Dense(8, input_dim=4), BatchNormalization(momentum=0.8), ReLU(), Dense(3)],
                             seed=seed, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_trains_gamma_and_beta_and_moves_only_the_statistics_itself(rng, dtype):
    x = rng.normal(size=(64, 4))
    y = rng.integers(0, 3, 64)
    model = bn_model(dtype)
    model.compile(fastnn.optimizers.SGD(learning_rate=0.1, momentum=0.9), "sparse_categorical_crossentropy")
    bn = model.layers[1]
    gamma = bn.params["gamma"].copy()
    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    assert not np.array_equal(bn.params["gamma"], gamma)
    assert bn.params["gamma"].dtype == bn.non_trainable_weights["moving_mean"].dtype == np.dtype(dtype)
    # The moving statistics moved (the layer's own update) but the optimizer never saw them.
    assert not np.array_equal(bn.non_trainable_weights["moving_mean"], np.zeros(8))
    _, state = model.optimizer.get_state()
    assert state and not any("moving" in key for key in state)


def test_summary_counts_and_weights_roundtrip(rng, tmp_path):
    model = bn_model()
    model.build((4,))
    text = model.summary(print_fn=lambda _: None)
    assert "BatchNormalization" in text and model.count_params() == 40 + 32 + 27
    assert "Trainable params: 83" in text and "Non-trainable params: 16" in text  # the moving statistics
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 8), (8,), (8,), (8,), (8,), (8,), (8, 3), (3,)]
    x = rng.normal(size=(32, 4))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, rng.integers(0, 3, 32), epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "bn.npz"
    model.save(path)
    loaded = fastnn.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    other = bn_model(seed=9)
    other.build((4,))
    other.set_weights(model.get_weights())
    np.testing.assert_array_equal(other.layers[1].non_trainable_weights["moving_variance"],
                                  model.layers[1].non_trainable_weights["moving_variance"])


def test_fit_is_bitwise_identical_for_1_and_2_threads(rng):
    x = rng.normal(size=(96, 6, 6, 4)).astype(np.float32)
    y = rng.integers(0, 2, 96)
    weights = []
    for threads in (1, 2):
        with num_threads(threads):
            model = fastnn.Sequential([BatchNormalization(), Flatten(), Dense(2)], seed=1)
            model.compile("adam", "sparse_categorical_crossentropy")
            model.fit(x, y, epochs=2, batch_size=32, verbose=0)
            weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


# -- bad input ---------------------------------------------------------------------------------------------


def test_a_batch_of_one_in_training_raises_and_names_the_batch(rng):
    layer = BatchNormalization()
    with pytest.raises(ValueError, match="batch of 1"):
        layer.forward(rng.normal(size=(1, 5)), training=True)
    layer.forward(rng.normal(size=(1, 5)), training=False)  # inference is fine
    conv_like = BatchNormalization()
    conv_like.forward(rng.normal(size=(1, 3, 3, 2)), training=True)  # 9 values per channel


@pytest.mark.parametrize("kwargs, argument", [(dict(momentum=1.5), "momentum"), (dict(momentum=-0.1), "momentum"),
                                              (dict(epsilon=0), "epsilon"), (dict(epsilon=-1e-3), "epsilon")])
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        BatchNormalization(**kwargs)


@pytest.mark.parametrize("kwargs, argument", [(dict(axis=1.0), "axis"), (dict(center="yes"), "center"),
                                              (dict(scale=None), "scale")])
def test_bad_argument_types_name_the_argument(kwargs, argument):
    with pytest.raises(TypeError, match=f"`{argument}`"):
        BatchNormalization(**kwargs)


@pytest.mark.parametrize("axis", [0, 3, -3])
def test_axis_must_be_a_feature_axis_of_the_input(rng, axis):
    with pytest.raises(ValueError, match="`axis`"):
        BatchNormalization(axis=axis).forward(rng.normal(size=(4, 5, 6)), training=True)


def test_wrong_input_shape_after_build_raises(rng):
    layer = BatchNormalization()
    layer.forward(rng.normal(size=(4, 5)), training=True)
    with pytest.raises(ValueError, match=r"\(batch, 5\)"):
        layer.forward(rng.normal(size=(4, 6)), training=True)


@pytest.mark.parametrize("axis", [-1, 1])
def test_training_calls_the_kernels_directly_with_the_checked_results_and_names_a_bad_dy(rng, axis):
    """In training the layer skips ops.batch_norm's argument checks (its arrays are its own); it
    must give bitwise what the checked ops give, and name a dy of the wrong shape."""
    layer = BatchNormalization(axis=axis, dtype="float64")
    x = rng.normal(size=(6, 3, 4))
    y = layer.forward(x, training=True).copy()
    features_last = np.moveaxis(x, axis, -1)
    want_y, mean, variance = ops.batch_norm(features_last, layer.params["gamma"], layer.params["beta"])
    np.testing.assert_array_equal(y, np.moveaxis(want_y, -1, axis))
    dy = rng.normal(size=x.shape)
    dx = layer.backward(dy)
    want = ops.batch_norm_backward(np.moveaxis(dy, axis, -1), features_last, layer.params["gamma"], mean, variance)
    np.testing.assert_array_equal(dx, np.moveaxis(want[0], -1, axis))
    np.testing.assert_array_equal(layer.grads["gamma"], want[1])
    np.testing.assert_array_equal(layer.grads["beta"], want[2])
    with pytest.raises(ValueError, match="dy must have the output's shape"):
        layer.backward(np.ones((6, 4, 3)))


def test_ops_reject_mismatched_operands(rng):
    x = rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match="`gamma`"):
        ops.batch_norm(x, np.ones(4), np.zeros(3))
    with pytest.raises(ValueError, match="`mean` and `variance`"):
        ops.batch_norm(x, np.ones(3), np.zeros(3), mean=np.zeros(3))
    with pytest.raises(ValueError, match="`epsilon`"):
        ops.batch_norm(x, np.ones(3), np.zeros(3), epsilon=0.0)
    with pytest.raises(ValueError, match="`dy`"):
        ops.batch_norm_backward(np.ones((4, 4)), x, np.ones(3), np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match="share one float dtype"):
        ops.batch_norm(x.astype(np.float32), np.ones(3), np.zeros(3))


@pytest.mark.parametrize("training", [True, False])
def test_forward_writes_out_in_place_and_may_normalize_x_itself(rng, training):
    x, gamma, beta = rng.normal(size=(40, 6)), rng.normal(size=6), rng.normal(size=6)
    statistics = {} if training else dict(mean=rng.normal(size=6), variance=rng.uniform(0.5, 2.0, 6))
    want = ops.batch_norm(x, gamma, beta, activation="relu", **statistics)
    out = np.full_like(x, np.nan)
    got = ops.batch_norm(x, gamma, beta, activation="relu", out=out, **statistics)
    assert got[0] is out
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    same = x.copy()
    assert ops.batch_norm(same, gamma, beta, activation="relu", out=same, **statistics)[0] is same
    np.testing.assert_array_equal(same, want[0])


@pytest.mark.parametrize("input_grad", [True, False])
def test_backward_writes_out_in_place_and_dx_may_be_dy(rng, input_grad):
    x, dy, gamma = rng.normal(size=(40, 6)), rng.normal(size=(40, 6)), rng.normal(size=6)
    y, mean, variance = ops.batch_norm(x, gamma, np.zeros(6), activation="tanh")
    settings = dict(y=y, activation="tanh", input_grad=input_grad)
    want = ops.batch_norm_backward(dy, x, gamma, mean, variance, **settings)
    out = (np.full_like(x, np.nan) if input_grad else None, np.full(6, np.nan), np.full(6, np.nan))
    got = ops.batch_norm_backward(dy, x, gamma, mean, variance, out=out, **settings)
    assert all(a is b for a, b in zip(got, out))
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    if input_grad:
        same = dy.copy()
        out = (same, np.empty(6), np.empty(6))
        dx = ops.batch_norm_backward(same, x, gamma, mean, variance, out=out, **settings)[0]
        assert dx is same
        np.testing.assert_array_equal(same, want[0])


def test_bad_out_arrays_are_refused_with_their_names(rng):
    x, gamma, beta = rng.normal(size=(8, 3)), np.ones(3), np.zeros(3)
    y, mean, variance = ops.batch_norm(x, gamma, beta)
    with pytest.raises(ValueError, match="`out` must have shape"):
        ops.batch_norm(x, gamma, beta, out=np.empty((8, 4)))
    with pytest.raises(ValueError, match="`out` overlaps an input"):
        ops.batch_norm(x[:7], gamma, beta, out=x[1:])
    with pytest.raises(ValueError, match="`out` must have dtype"):
        ops.batch_norm(x, gamma, beta, out=np.empty((8, 3), np.float32))
    with pytest.raises(TypeError, match=r"tuple \(dx, dgamma, dbeta\)"):
        ops.batch_norm_backward(x, x, gamma, mean, variance, out=np.empty((8, 3)))
    with pytest.raises(ValueError, match=r"out\[0\] \(dx\)` overlaps an input"):
        ops.batch_norm_backward(x.copy(), x, gamma, mean, variance, out=(x, np.empty(3), np.empty(3)))
    with pytest.raises(ValueError, match=r"out\[0\] \(dx\)` overlaps an input"):
        dy = np.ones((9, 3))
        ops.batch_norm_backward(dy[:8], x, gamma, mean, variance, out=(dy[1:], np.empty(3), np.empty(3)))
    with pytest.raises(ValueError, match=r"out\[2\] \(dbeta\)` must have shape"):
        ops.batch_norm_backward(x, x, gamma, mean, variance, out=(np.empty((8, 3)), np.empty(3), np.empty(4)))
    with pytest.raises(ValueError, match="must hold None for dx when input_grad=False"):
        out = (np.empty((8, 3)), np.empty(3), np.empty(3))
        ops.batch_norm_backward(x, x, gamma, mean, variance, input_grad=False, out=out)
