"""Residual blocks: gradients by finite differences, shortcuts, nesting, saving, bad input, and
the classic result (a deep residual stack keeps its gradient scale where a plain one loses it)."""

import numpy as np
import pytest
from conftest import assert_layer_gradients

import fastnn
from fastnn.layers import Conv2D, Dense, Flatten, ReLU, Residual, Tanh


@pytest.mark.parametrize("make, shape", [
    (lambda: Residual(Dense(5), Tanh(), Dense(5)), (3, 5)),                                   # identity
    (lambda: Residual(Dense(4), Tanh(), shortcut="projection"), (3, 6)),                      # Dense projection
    (lambda: Residual(Conv2D(3, 3, strides=2, padding="same"), Tanh(), shortcut="projection"), (2, 5, 5, 2)),
    (lambda: Residual(Conv2D(2, 3, padding="same"), shortcut=Conv2D(2, 1)), (2, 4, 4, 3)),     # given shortcut
    (lambda: Residual(Residual(Dense(4), Tanh()), Dense(4)), (3, 4)),                         # nested
])
def test_gradients_match_finite_differences(rng, make, shape):
    block = make()
    block.dtype = np.dtype(np.float64)
    block.seed = 3
    block.build(shape[1:])
    assert_layer_gradients(block, rng.standard_normal(shape), rng)


def test_identity_block_adds_its_input(rng):
    block = Residual(Dense(4, kernel_init="zeros"), seed=1)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(block.forward(x), x)  # F = 0: y = x exactly


def test_projection_picks_a_strided_1x1_convolution_for_images():
    block = Residual(Conv2D(8, 3, strides=2, padding="same"), shortcut="projection", seed=0)
    block.build((7, 7, 3))
    projection = block._shortcut_layer
    assert isinstance(projection, Conv2D) and projection.kernel_size == (1, 1) and projection.strides == (2, 2)
    assert block.output_shape((7, 7, 3)) == (4, 4, 8)


def test_mismatched_identity_shortcut_is_a_clear_error():
    with pytest.raises(ValueError, match='projection'):
        Residual(Dense(3)).build((4,))


@pytest.mark.parametrize("args, kwargs, error", [((), {}, ValueError), ((Dense(2), "relu"), {}, TypeError),
                                                 ((Dense(2),), {"shortcut": "conv"}, ValueError)])
def test_bad_arguments(args, kwargs, error):
    with pytest.raises(error):
        Residual(*args, **kwargs)


def test_resnet_style_model_saves_and_resumes_exactly(tmp_path):
    x, y = fastnn.datasets.load_digits(as_images=True)
    x, y = x[:256], y[:256]
    model = fastnn.Sequential([Conv2D(8, 3, padding="same", activation="relu"),
                               Residual(Conv2D(8, 3, padding="same"), ReLU(), Conv2D(8, 3, padding="same")), ReLU(),
                               Residual(Conv2D(16, 3, strides=2, padding="same"), shortcut="projection"), ReLU(),
                               Flatten(), Dense(10, activation="softmax")], seed=2)
    model.compile(fastnn.optimizers.Adam(0.003), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    model.save(tmp_path / "resnet.fastnn")
    loaded = fastnn.load_model(tmp_path / "resnet.fastnn")
    assert np.array_equal(loaded.predict(x), model.predict(x))
    again = loaded.fit(x, y, epochs=1, batch_size=64, verbose=0).history
    assert again == model.fit(x, y, epochs=1, batch_size=64, verbose=0).history
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))


def first_layer_gradient_scale(residual, depth=20, seed=0):
    """RMS of the first layer's weight gradient in a depth-layer tanh stack of width 32 with
    Xavier weights scaled by 0.5 (a contracting plain stack), plain or as residual blocks."""
    width = 32
    layers = [Dense(width, input_dim=width, kernel_init="xavier_normal")]
    for _ in range(depth):
        body = [Dense(width, kernel_init="xavier_normal"), Tanh()]
        layers.append(Residual(*body) if residual else body[0])
        if not residual:
            layers.append(body[1])
    layers.append(Dense(1))
    model = fastnn.Sequential(layers, seed=seed, dtype="float64")
    model.compile("sgd", "mse")
    model.build((width,))
    for layer in model.layers[1:-1]:
        for param in layer.params.values():
            param *= 0.5
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((64, width)), rng.standard_normal((64, 1))
    outputs, _ = model._forward(x, training=True)
    grad = model.loss.gradient(y, outputs)
    for layer in reversed(model.layers):
        grad = layer.backward(grad)
    return float(np.sqrt(np.mean(model.layers[0].grads["W"] ** 2)))


def test_residual_stack_keeps_the_gradient_scale_where_the_plain_stack_loses_it():
    plain, residual = first_layer_gradient_scale(False), first_layer_gradient_scale(True)
    assert plain < 1e-4 * residual, (plain, residual)
