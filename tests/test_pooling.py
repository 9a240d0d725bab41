"""Tests of pooling: ``fastnn.ops.max_pool`` / ``average_pool`` and their backward passes against
float64 NumPy loops over the windows (1-D, 2-D, 3-D; strides 1 and 2; "valid" and "same"; odd sizes;
batch 1; one channel; both dtypes), the pooling layers' finite-difference gradients, Keras's output
shapes and "same"-padding average, ties and NaN, thread-count independence, Sequential, bad input."""

import math

import numpy as np
import pytest

from conftest import num_threads, numeric_gradient

import fastnn
from fastnn import ops
from fastnn.layers import (AveragePooling1D, AveragePooling2D, AveragePooling3D, Dense, Flatten,
                           GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D,
                           GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPooling1D, MaxPooling2D, MaxPooling3D, ReLU)

TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-14, atol=1e-14)}
GRAD_TOL = dict(rtol=1e-6, atol=1e-8)
# (spatial, pool_size, strides, padding): odd sizes, strides 1 and 2, overlapping windows, padding.
CASES = [
    ((7,), 3, None, "valid"), ((7,), 2, 1, "same"), ((8,), 3, 2, "same"), ((1,), 1, None, "valid"),
    ((5, 7), (2, 2), None, "valid"), ((5, 7), (3, 2), (2, 1), "same"), ((6, 6), 3, 2, "same"),
    ((5, 5), 3, 1, "valid"), ((4, 5), (2, 3), 2, "valid"),
    ((3, 5, 4), 2, None, "valid"), ((3, 5, 4), (2, 3, 2), (1, 2, 2), "same"), ((3, 3, 3), 3, 2, "same"),
]
MAX_LAYERS = {1: MaxPooling1D, 2: MaxPooling2D, 3: MaxPooling3D}
AVERAGE_LAYERS = {1: AveragePooling1D, 2: AveragePooling2D, 3: AveragePooling3D}
GLOBAL_LAYERS = [GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, GlobalAveragePooling1D,
                 GlobalAveragePooling2D, GlobalAveragePooling3D]


def as_tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def windows(spatial, pool, strides, padding):
    """For every output position: the tuple of input slices of its window (Keras/TF rules, written out)."""
    rank = len(spatial)
    pool = as_tuple(pool, rank)
    strides = pool if strides is None else as_tuple(strides, rank)
    if padding == "valid":
        out = [(n - k) // s + 1 for n, k, s in zip(spatial, pool, strides)]
        before = [0] * rank
    else:
        out = [math.ceil(n / s) for n, s in zip(spatial, strides)]
        before = [max((o - 1) * s + k - n, 0) // 2 for o, s, k, n in zip(out, strides, pool, spatial)]
    result = {}
    for position in np.ndindex(*out):
        result[position] = tuple(slice(max(o * s - p, 0), min(o * s - p + k, n))
                                 for o, s, p, k, n in zip(position, strides, before, pool, spatial))
    return tuple(out), result


def reference(x, pool, strides, padding, kind, dy=None):
    """float64 forward (and backward for dy) by a loop over the windows."""
    x = x.astype(np.float64)
    batch, channels = x.shape[0], x.shape[-1]
    out, by_position = windows(x.shape[1:-1], pool, strides, padding)
    y = np.empty((batch, *out, channels))
    dx = np.zeros(x.shape)
    for position, slices in by_position.items():
        index = (slice(None), *slices, slice(None))
        patch = x[index].reshape(batch, -1, channels)
        y[(slice(None), *position, slice(None))] = patch.max(axis=1) if kind == "max" else patch.mean(axis=1)
        if dy is None:
            continue
        g = dy[(slice(None), *position, slice(None))].astype(np.float64)
        if kind == "max":
            first = np.argmax(patch, axis=1)  # the first of equal maxima
            spread = np.zeros_like(patch)
            np.put_along_axis(spread, first[:, None, :], g[:, None, :], axis=1)
        else:
            spread = np.broadcast_to(g[:, None, :] / patch.shape[1], patch.shape)
        dx[index] += spread.reshape(x[index].shape)
    return y, dx


def run(kind, x, pool, strides, padding, dy):
    settings = dict(strides=strides, padding=padding)
    if kind == "max":
        y, argmax = ops.max_pool(x, pool, **settings)
        return y, ops.max_pool_backward(dy, argmax, x.shape, pool, **settings)
    return ops.average_pool(x, pool, **settings), ops.average_pool_backward(dy, x.shape, pool, **settings)


def distinct_values(rng, shape):
    """Values 0.01 apart in random order: no ties, no near-ties within h of each other."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 1.0)


# -- the ops against the reference -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch, channels", [(1, 1), (3, 4), (2, 17)])
@pytest.mark.parametrize("spatial, pool, strides, padding", CASES)
def test_forward_and_backward_match_the_reference(rng, kind, dtype, batch, channels, spatial, pool, strides, padding):
    x = rng.normal(size=(batch, *spatial, channels)).astype(dtype)
    ref_y, _ = reference(x, pool, strides, padding, kind)
    dy = rng.normal(size=ref_y.shape).astype(dtype)
    ref_y, ref_dx = reference(x, pool, strides, padding, kind, dy)
    y, dx = run(kind, x, pool, strides, padding, dy)
    assert y.dtype == dx.dtype == dtype and y.shape == ref_y.shape and dx.shape == x.shape
    np.testing.assert_allclose(y, ref_y, **TOL[dtype])
    np.testing.assert_allclose(dx, ref_dx, **TOL[dtype])
    if kind == "max":  # the inference kernel, which writes no arg-max, gives the same y
        np.testing.assert_array_equal(ops.max_pool(x, pool, strides=strides, padding=padding, return_argmax=False), y)


def test_max_pool_ties_go_to_the_first_and_nan_wins():
    x = np.zeros((1, 2, 2, 2))
    x[0, 1, 1, 1] = np.nan
    y, argmax = ops.max_pool(x, 2)
    assert y[0, 0, 0, 0] == 0 and np.isnan(y[0, 0, 0, 1])
    np.testing.assert_array_equal(argmax[0, 0, 0], [0, 3])
    dx = ops.max_pool_backward(np.ones((1, 1, 1, 2)), argmax, x.shape, 2)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0], [0, 0]])
    np.testing.assert_array_equal(dx[0, :, :, 1], [[0, 0], [0, 1]])


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_float32_and_float64_max_pooling_agree_on_ties_nan_and_infinities(rng, padding):
    """Many channels (the loops vectorize over them), ties, NaN and windows of -inf (the first
    position wins, also when the window starts in the padding): both dtypes give the same
    arg-max and values."""
    x = rng.integers(-2, 3, size=(2, 5, 7, 35)).astype(np.float32)  # small integers: many ties
    x[0, 1, 2, 3] = np.nan
    x[1, 4, 6, 20] = np.nan
    x[:, :3, :3, 17] = -np.inf
    y, argmax = ops.max_pool(x, 3, strides=2, padding=padding)
    y64, argmax64 = ops.max_pool(x.astype(np.float64), 3, strides=2, padding=padding)
    np.testing.assert_array_equal(argmax, argmax64)
    np.testing.assert_array_equal(y, y64.astype(np.float32))
    assert np.isnan(y).any() and np.isneginf(y).any()
    for values, expected in ((x, y), (x.astype(np.float64), y64)):  # and without the arg-max
        np.testing.assert_array_equal(ops.max_pool(values, 3, strides=2, padding=padding, return_argmax=False), expected)


@pytest.mark.parametrize("kind", ["max", "average"])
def test_out_is_written_in_place(rng, kind):
    x = rng.normal(size=(2, 6, 6, 20)).astype(np.float32)
    dy = rng.normal(size=(2, 3, 3, 20)).astype(np.float32)
    y_out, dx_out = np.full((2, 3, 3, 20), np.nan, np.float32), np.full(x.shape, np.nan, np.float32)
    if kind == "max":
        y, argmax = ops.max_pool(x, 2)
        argmax_out = np.full(y.shape, -1, np.int32)
        got = ops.max_pool(x, 2, out=(y_out, argmax_out))
        assert got[0] is y_out and got[1] is argmax_out
        np.testing.assert_array_equal(argmax_out, argmax)
        y_alone = np.full(y.shape, np.nan, np.float32)
        assert ops.max_pool(x, 2, return_argmax=False, out=y_alone) is y_alone
        np.testing.assert_array_equal(y_alone, y)
        dx = ops.max_pool_backward(dy, argmax, x.shape, 2, out=dx_out)
        expected_dx = ops.max_pool_backward(dy, argmax, x.shape, 2)
    else:
        y = ops.average_pool(x, 2)
        assert ops.average_pool(x, 2, out=y_out) is y_out
        dx = ops.average_pool_backward(dy, x.shape, 2, out=dx_out)
        expected_dx = ops.average_pool_backward(dy, x.shape, 2)
    assert dx is dx_out
    np.testing.assert_array_equal(y_out, y)
    np.testing.assert_array_equal(dx_out, expected_dx)


def test_same_padding_averages_over_valid_elements_only():
    """TensorFlow's rule (count_include_pad=False): 5x5 of 1..25, 5x5 windows, stride 1, "same"."""
    x = np.arange(1, 26, dtype=np.float64).reshape(1, 5, 5, 1)
    y = ops.average_pool(x, 5, strides=1, padding="same")[0, :, :, 0]
    assert y[0, 0] == np.mean([1, 2, 3, 6, 7, 8, 11, 12, 13]) == 7.0
    assert y[2, 2] == 13.0
    np.testing.assert_array_equal(ops.average_pool(np.array([[[1.0], [2.0], [3.0]]]), 2, strides=1, padding="same")[0, :, 0],
                                  [1.5, 2.5, 3.0])


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bitwise_identical_for_any_thread_count(rng, kind, dtype):
    x = rng.normal(size=(8, 19, 21, 24)).astype(dtype)  # overlapping windows: dx sums several outputs
    dy = rng.normal(size=ops.average_pool(x, 3, strides=2, padding="same").shape).astype(dtype)
    results = []
    for threads in (1, 2):
        with num_threads(threads):
            results.append(run(kind, x, 3, 2, "same", dy))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


# -- the layers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("spatial, pool, strides, padding", CASES)
def test_layer_gradients_match_finite_differences(rng, kind, spatial, pool, strides, padding):
    cls = (MAX_LAYERS if kind == "max" else AVERAGE_LAYERS)[len(spatial)]
    layer = cls(pool, strides=strides, padding=padding, dtype="float64")
    x = distinct_values(rng, (2, *spatial, 3))
    r = rng.normal(size=layer.forward(x).shape)

    def loss():
        return float(np.sum(r * layer.forward(x, training=True)))

    loss()
    np.testing.assert_allclose(layer.backward(r), numeric_gradient(loss, x), **GRAD_TOL)


@pytest.mark.parametrize("cls", GLOBAL_LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_values_shapes_and_gradients(rng, cls, dtype, keepdims):
    spatial = (5, 3, 4)[3 - cls.rank:]
    x = distinct_values(rng, (2, *spatial, 3)).astype(dtype)
    layer = cls(keepdims=keepdims, dtype=dtype)
    y = layer.forward(x)
    axes = tuple(range(1, cls.rank + 1))
    expected = (x.max if cls.kind == "max" else x.astype(np.float64).mean)(axis=axes, keepdims=keepdims)
    assert y.shape == (2, *(1,) * cls.rank * keepdims, 3) and layer.output_shape(x.shape[1:]) == y.shape[1:]
    np.testing.assert_allclose(y, expected, **TOL[dtype])
    if dtype == np.float64:
        r = rng.normal(size=y.shape)
        loss = lambda: float(np.sum(r * layer.forward(x)))  # noqa: E731
        loss()
        np.testing.assert_allclose(layer.backward(r), numeric_gradient(loss, x), **GRAD_TOL)


@pytest.mark.parametrize("layer, input_shape, expected", [
    (MaxPooling2D(), (32, 32, 3), (16, 16, 3)),
    (MaxPooling2D(), (5, 7, 2), (2, 3, 2)),
    (MaxPooling2D(padding="same"), (5, 7, 2), (3, 4, 2)),
    (MaxPooling2D(3, strides=2), (7, 8, 1), (3, 3, 1)),
    (AveragePooling2D((3, 3), strides=(1, 1), padding="same"), (5, 6, 4), (5, 6, 4)),
    (MaxPooling1D(), (10, 4), (5, 4)),
    (AveragePooling1D(3, strides=2, padding="same"), (10, 4), (5, 4)),
    (MaxPooling3D(), (4, 5, 6, 2), (2, 2, 3, 2)),
    (AveragePooling3D(padding="same"), (3, 5, 6, 2), (2, 3, 3, 2)),
    (GlobalMaxPooling2D(), (7, 7, 5), (5,)),
    (GlobalAveragePooling3D(keepdims=True), (2, 3, 4, 5), (1, 1, 1, 5)),
])
def test_keras_output_shapes(layer, input_shape, expected):
    assert layer.output_shape(input_shape) == expected
    y = layer.forward(np.zeros((2, *input_shape), np.float32))
    assert y.shape == (2, *expected)


def test_keras_defaults():
    assert MaxPooling1D().pool_size == (2,) and MaxPooling2D().pool_size == (2, 2)
    assert AveragePooling3D().pool_size == (2, 2, 2)
    layer = MaxPooling2D(3)
    assert layer.strides == (3, 3) and layer.padding == "valid"
    assert AveragePooling2D(padding="SAME").padding == "same"  # Keras lowercases


def cnn(seed=0, dtype="float32"):
    return fastnn.Sequential([MaxPooling2D(padding="same"), AveragePooling2D(strides=1), Flatten(), Dense(8),
                              ReLU(), Dense(2)], seed=seed, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_in_sequential_fit_summary_and_save(rng, tmp_path, dtype):
    x = rng.normal(size=(40, 7, 7, 3))
    y = rng.integers(0, 2, 40)
    model = cnn(dtype=dtype)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    text = model.summary(print_fn=lambda _: None)
    assert "MaxPooling2D" in text and "(None, 4, 4, 3)" in text and "(None, 3, 3, 3)" in text
    model.save(tmp_path / "cnn.npz")
    loaded = fastnn.load_model(tmp_path / "cnn.npz")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert loaded.layers[0].padding == "same" and loaded.layers[1].strides == (1, 1)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_global_pooling_in_a_model_trains_and_loads(rng, tmp_path):
    model = fastnn.Sequential([GlobalAveragePooling1D(), Dense(2)], seed=2)
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = rng.normal(size=(16, 9, 4))
    model.fit(x, rng.integers(0, 2, 16), epochs=1, verbose=0)
    model.save(tmp_path / "g.npz")
    np.testing.assert_array_equal(fastnn.load_model(tmp_path / "g.npz").predict(x), model.predict(x))


# -- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, argument, error", [
    (lambda: MaxPooling2D(0), "pool_size", ValueError),
    (lambda: MaxPooling2D((2, -1)), "pool_size", ValueError),
    (lambda: MaxPooling2D((2, 2, 2)), "pool_size", ValueError),
    (lambda: AveragePooling1D(2.5), "pool_size", TypeError),
    (lambda: MaxPooling3D(2, strides=0), "strides", ValueError),
    (lambda: AveragePooling2D(2, strides=(1, -2)), "strides", ValueError),
    (lambda: MaxPooling1D(padding="full"), "padding", ValueError),
    (lambda: MaxPooling1D(padding=None), "padding", TypeError),
    (lambda: GlobalMaxPooling2D(keepdims=1), "keepdims", TypeError),
])
def test_bad_arguments_name_the_argument(make, argument, error):
    with pytest.raises(error, match=f"`{argument}`"):
        make()


@pytest.mark.parametrize("layer, shape", [(MaxPooling2D(), (4, 8, 3)), (AveragePooling1D(), (4, 8, 8, 3)),
                                          (GlobalMaxPooling3D(), (4, 8, 8, 3)), (MaxPooling3D(), (4, 2))])
def test_wrong_rank_raises(rng, layer, shape):
    with pytest.raises(ValueError, match="inputs"):
        layer.forward(rng.normal(size=shape))


def test_valid_window_larger_than_the_input_raises(rng):
    with pytest.raises(ValueError, match="`pool_size`"):
        MaxPooling2D(5).forward(rng.normal(size=(2, 4, 8, 1)))
    assert MaxPooling2D(5, padding="same").forward(rng.normal(size=(2, 4, 8, 1))).shape == (2, 1, 2, 1)


def test_ops_reject_bad_input(rng):
    with pytest.raises(ValueError, match="`x`"):
        ops.max_pool(rng.normal(size=(4, 4)), 2)
    with pytest.raises(ValueError, match="`x`"):
        ops.average_pool(rng.normal(size=(1, 2, 2, 2, 2, 2)), 2)
    with pytest.raises(ValueError, match="`strides`"):
        ops.average_pool(rng.normal(size=(1, 4, 2)), 2, strides=0)
    y, argmax = ops.max_pool(rng.normal(size=(1, 4, 4, 2)), 2)
    with pytest.raises(ValueError, match="`dy`"):
        ops.max_pool_backward(np.ones((1, 3, 2, 2)), argmax, (1, 4, 4, 2), 2)
    with pytest.raises(TypeError, match="`argmax`"):
        ops.max_pool_backward(y, argmax.astype(np.int64), (1, 4, 4, 2), 2)
    x = rng.normal(size=(1, 4, 4, 2))
    with pytest.raises(TypeError, match="`out` must be None or a pair"):
        ops.max_pool(x, 2, out=np.empty((1, 2, 2, 2)))
    with pytest.raises(TypeError, match="`out` must be a NumPy array or None"):  # y alone without the arg-max
        ops.max_pool(x, 2, return_argmax=False, out=(np.empty((1, 2, 2, 2)), np.empty((1, 2, 2, 2), np.int32)))
    with pytest.raises(TypeError, match="`return_argmax`"):
        ops.max_pool(x, 2, return_argmax="no")
    with pytest.raises(ValueError, match="`out` must have dtype int32"):
        ops.max_pool(x, 2, out=(np.empty((1, 2, 2, 2)), np.empty((1, 2, 2, 2))))
    with pytest.raises(ValueError, match=r"`out` must have shape \(1, 2, 2, 2\)"):
        ops.average_pool(x, 2, out=np.empty((1, 2, 2, 3)))
    memory = np.ones(32)
    with pytest.raises(ValueError, match="`out` overlaps an input"):
        ops.average_pool_backward(memory[:8].reshape(1, 2, 2, 2), x.shape, 2, out=memory.reshape(x.shape))


@pytest.mark.parametrize("layer_class", [MaxPooling2D, GlobalMaxPooling2D])
def test_a_backward_after_an_inference_forward_finds_the_arg_max_again(rng, layer_class):
    """Inference skips the arg-max; a backward after it must still route the gradient right."""
    x = rng.integers(-2, 3, size=(3, 6, 6, 5)).astype(np.float32)  # ties: the first must win
    trained, inferred = layer_class(), layer_class()
    y = trained.forward(x, training=True)
    np.testing.assert_array_equal(inferred.forward(x, training=False), y)
    dy = rng.normal(size=y.shape).astype(np.float32)
    np.testing.assert_array_equal(inferred.backward(dy), trained.backward(dy))
