"""Convolution: ops.conv / conv_backward against a float64 im2col reference written with plain
loops, the Conv1D/2D/3D layers by finite differences, Keras's padding conventions, thread-count
invariance and bad input."""

import itertools

import numpy as np
import pytest
from conftest import assert_layer_gradients, machine_eps, num_threads, numeric_gradient

import fastnn
from fastnn.layers import Conv1D, Conv2D, Conv3D, Dense, Flatten, ReLU

# -- the reference ------------------------------------------------------------------------------


def keras_windows(size, kernel, stride, dilation, padding):
    """(out, pad_before) by the rule Keras/TensorFlow document for one dimension."""
    span = dilation * (kernel - 1) + 1
    if padding == "valid":
        return (size - span) // stride + 1, 0
    out = -(-size // stride)
    return out, max((out - 1) * stride + span - size, 0) // 2


def reference_patches(x, kernel, strides, dilation, padding):
    """float64 patch matrix (batch * out positions, kernel area * channels), zeros in the padding,
    and the output spatial shape; also the (row, column) -> x index map for the adjoint."""
    rank = len(kernel)
    geo = [keras_windows(x.shape[1 + d], kernel[d], strides[d], dilation[d], padding) for d in range(rank)]
    out = tuple(o for o, _ in geo)
    channels = x.shape[-1]
    rows = []
    sources = []
    for n in range(x.shape[0]):
        for o in itertools.product(*map(range, out)):
            row, source = [], []
            for q in itertools.product(*map(range, kernel)):
                at = tuple(o[d] * strides[d] + q[d] * dilation[d] - geo[d][1] for d in range(rank))
                inside = all(0 <= at[d] < x.shape[1 + d] for d in range(rank))
                for c in range(channels):
                    row.append(float(x[(n, *at, c)]) if inside else 0.0)
                    source.append((n, *at, c) if inside else None)
            rows.append(row)
            sources.append(source)
    return np.array(rows).reshape(len(rows), -1), out, sources


def reference_conv(x, w, b, strides, dilation, padding, activation="identity"):
    rank = w.ndim - 2
    patches, out, _ = reference_patches(x, w.shape[:rank], strides, dilation, padding)
    z = patches @ w.astype(np.float64).reshape(-1, w.shape[-1])
    if b is not None:
        z = z + b
    if activation == "relu":
        z = np.maximum(z, 0)
    return z.reshape(x.shape[0], *out, w.shape[-1])


def reference_conv_backward(dy, x, w, y, strides, dilation, padding, activation="identity"):
    rank = w.ndim - 2
    patches, _, sources = reference_patches(x, w.shape[:rank], strides, dilation, padding)
    g = dy.astype(np.float64).reshape(patches.shape[0], -1)
    if activation == "relu":
        g = g * (y.reshape(g.shape) > 0)
    dw = (patches.T @ g).reshape(w.shape)
    dpatches = g @ w.astype(np.float64).reshape(-1, w.shape[-1]).T
    dx = np.zeros(x.shape)
    for r, source in enumerate(sources):
        for j, at in enumerate(source):
            if at is not None:
                dx[at] += dpatches[r, j]
    return dx, dw, g.sum(axis=0)


def assert_close(got, want, dtype, depth):
    """Within a rounding bound for sums of `depth` products of O(1) values."""
    tol = 4 * depth * machine_eps(dtype) * max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)


CASES = [  # (rank, spatial, kernel, channels, filters)
    (1, (11,), (3,), 2, 5),
    (2, (7, 6), (3, 2), 3, 4),
    (3, (5, 4, 6), (3, 1, 2), 2, 3),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides, dilation", [(1, 1), (2, 1), (1, 2), (2, 2)])
@pytest.mark.parametrize("rank, spatial, kernel, channels, filters", CASES, ids=["1d", "2d", "3d"])
def test_conv_forward_and_backward_match_the_reference(rng, dtype, padding, strides, dilation, rank, spatial, kernel,
                                                       channels, filters):
    x = rng.standard_normal((2, *spatial, channels)).astype(dtype)
    w = rng.standard_normal((*kernel, channels, filters)).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype)
    s, d = (strides,) * rank, (dilation,) * rank
    depth = int(np.prod(kernel)) * channels
    y = fastnn.ops.conv(x, w, b, strides=s, padding=padding, dilation=d, activation="relu")
    want = reference_conv(x, w, b, s, d, padding, "relu")
    assert y.shape == want.shape and y.dtype == dtype
    assert_close(y, want, dtype, depth)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx, dw, db = fastnn.ops.conv_backward(dy, x, w, y, strides=s, padding=padding, dilation=d, activation="relu")
    want_dx, want_dw, want_db = reference_conv_backward(dy, x, w, y, s, d, padding, "relu")
    assert_close(dx, want_dx, dtype, depth)
    assert_close(dw, want_dw, dtype, y.size // filters)
    assert_close(db, want_db, dtype, y.size // filters)


# The GEMM gathers the patch matrix block by block as it needs it. Products with 130 columns
# (filters, or channels for dx's convolution) span at least 4 micro-tiles on every ISA, AVX-512's
# 32-wide float32 tile included: they pack the gathered blocks, except where the micro-kernel
# reads rows as fast (AVX2 float32; FASTNN_ISA=generic runs the packing path). Those with 16 or 32
# columns read them in place on every ISA (a whole tile or more, fewer than 4). A patch row of 450 values
# crosses KC (two blocks of 225: 4.5 taps of 50 channels) and MC, so blocks start mid-tap and
# mid-line.
GATHERED_CASES = [  # (rank, spatial, kernel, channels, filters)
    (1, (9,), (3,), 50, 130),
    (2, (5, 6), (3, 3), 50, 130),
    (2, (5, 4), (3, 2), 130, 3),
    (3, (3, 4, 3), (3, 1, 2), 30, 130),
    (2, (5, 6), (3, 3), 50, 16),
    (2, (6, 5), (3, 3), 32, 32),
    (1, (9,), (3,), 3, 16),
    (2, (6, 5), (3, 3), 3, 70),  # few channels, many filters: P stored (gather_patch_line), A packed
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strides, dilation, padding", [(1, 1, "same"), (2, 1, "valid"), (1, 2, "same"), (2, 2, "same")])
@pytest.mark.parametrize("rank, spatial, kernel, channels, filters", GATHERED_CASES,
                         ids=["1d", "2d", "2d-dx", "3d", "2d-in-place", "2d-in-place-dx", "1d-in-place",
                              "2d-few-channels"])
def test_patches_gathered_by_the_gemm_match_the_reference(rng, dtype, strides, dilation, padding, rank, spatial,
                                                            kernel, channels, filters):
    x = rng.standard_normal((2, *spatial, channels)).astype(dtype)
    w = rng.standard_normal((*kernel, channels, filters)).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype)
    s, d = (strides,) * rank, (dilation,) * rank
    settings = dict(strides=s, padding=padding, dilation=d, activation="relu")
    results = []
    for threads in (1, 2):
        with num_threads(threads):
            y = fastnn.ops.conv(x, w, b, **settings)
            dy = np.cos(np.arange(y.size)).astype(dtype).reshape(y.shape)
            results.append((y, *fastnn.ops.conv_backward(dy, x, w, y, **settings)))
    for got, want in zip(results[1], results[0]):
        assert np.array_equal(got, want)
    y, dx, dw, db = results[0]
    depth = int(np.prod(kernel)) * channels
    assert_close(y, reference_conv(x, w, b, s, d, padding, "relu"), dtype, depth)
    want_dx, want_dw, want_db = reference_conv_backward(dy, x, w, y, s, d, padding, "relu")
    assert_close(dx, want_dx, dtype, depth)
    assert_close(dw, want_dw, dtype, y.size // filters)
    assert_close(db, want_db, dtype, y.size // filters)


@pytest.mark.parametrize("shape, kernel", [((1, 5, 5, 1), (3, 3, 1, 1)),   # batch 1, one channel
                                           ((3, 4, 4, 7), (1, 1, 7, 2)),   # 1x1: the input is the patch matrix
                                           ((2, 9, 1, 3), (5, 1, 3, 17)),  # odd kernel, 17 filters (one past NR)
                                           ((4, 3, 3, 2), (3, 3, 2, 1))])  # the kernel covers the input
def test_awkward_shapes(rng, shape, kernel):
    x, w = rng.standard_normal(shape), rng.standard_normal(kernel)
    for padding in ("valid", "same"):
        y = fastnn.ops.conv(x, w, padding=padding)
        assert_close(y, reference_conv(x, w, None, (1, 1), (1, 1), padding), np.float64, x.shape[-1] * 9)
        dy = rng.standard_normal(y.shape)
        for got, want in zip(fastnn.ops.conv_backward(dy, x, w, padding=padding),
                             reference_conv_backward(dy, x, w, None, (1, 1), (1, 1), padding)):
            assert_close(got, want, np.float64, y.size)


@pytest.mark.parametrize("strides", [1, 2])  # dx as a convolution (1), or scattered back per chunk (2)
def test_many_chunks_of_samples_match_and_are_thread_count_invariant(rng, strides):
    # 147,456 patch values per sample (32x32 x 144, or 16x16 x 576 at stride 2) against the
    # kernels' 2^20 per chunk: the 9 samples are gathered in two chunks
    channels = 16 * strides * strides
    x = rng.standard_normal((9, 32, 32, channels)).astype(np.float32)
    w = rng.standard_normal((3, 3, channels, 8)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    settings = dict(strides=strides, padding="same", activation="relu")
    results = []
    for threads in (1, 2, 3):
        with num_threads(threads):
            y = fastnn.ops.conv(x, w, b, **settings)
            dy = np.sin(np.arange(y.size, dtype=np.float32)).reshape(y.shape)
            results.append((y, *fastnn.ops.conv_backward(dy, x, w, y, **settings)))
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            assert np.array_equal(got, want)
    s = (strides, strides)
    y, dx, dw, db = results[0]
    sample = slice(7, 9)  # in the last chunk
    assert_close(y[sample], reference_conv(x[sample], w, b, s, (1, 1), "same", "relu"), np.float32, 9 * channels)
    dy = np.sin(np.arange(y.size, dtype=np.float32)).reshape(y.shape)
    want_dx, want_dw, _ = reference_conv_backward(dy, x, w, y, s, (1, 1), "same", "relu")
    assert_close(dx, want_dx, np.float32, 9 * channels)
    assert_close(dw, want_dw, np.float32, y.size // 8)


@pytest.mark.parametrize("input_grad", [True, False])
def test_backward_out_is_written_in_place(rng, input_grad):
    x = rng.standard_normal((3, 7, 6, 4)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4, 5)).astype(np.float32)
    y = fastnn.ops.conv(x, w, padding="same", activation="relu")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    fresh = fastnn.ops.conv_backward(dy, x, w, y, padding="same", activation="relu", input_grad=input_grad)
    out = (np.full(x.shape, np.nan, np.float32) if input_grad else None, np.full(w.shape, np.nan, np.float32),
           np.full(5, np.nan, np.float32))
    got = fastnn.ops.conv_backward(dy, x, w, y, padding="same", activation="relu", input_grad=input_grad, out=out)
    for array, written, expected in zip(out, got, fresh):
        assert written is array
        if expected is not None:
            np.testing.assert_array_equal(written, expected)
    with pytest.raises(ValueError, match=r"out\[1\] \(dw\)"):
        fastnn.ops.conv_backward(dy, x, w, y, padding="same", activation="relu", input_grad=input_grad,
                                 out=(out[0], np.empty((3, 3, 4, 4), np.float32), out[2]))


@pytest.mark.parametrize("size, kernel, stride, dilation, padding, out", [
    (7, 3, 2, 1, "same", 4), (7, 3, 2, 1, "valid", 3), (5, 2, 2, 1, "same", 3), (5, 2, 2, 1, "valid", 2),
    (8, 4, 1, 1, "same", 8), (9, 3, 1, 3, "valid", 3), (9, 3, 3, 3, "same", 3), (1, 3, 1, 1, "same", 1)])
def test_output_sizes_follow_keras(size, kernel, stride, dilation, padding, out):
    # Expected sizes from the documented rules: "valid" floor((in - span) / s) + 1, "same" ceil(in / s)
    y = fastnn.ops.conv(np.ones((1, size, 1)), np.ones((kernel, 1, 1)), strides=stride, dilation=dilation,
                        padding=padding)
    assert y.shape == (1, out, 1)


def test_same_padding_puts_the_odd_zero_after():
    # in 4, kernel 2, stride 1, "same": one zero, after the input (TensorFlow), so y[i] = x[i] + x[i + 1]
    x = np.array([1.0, 2.0, 4.0, 8.0]).reshape(1, 4, 1)
    y = fastnn.ops.conv(x, np.ones((2, 1, 1)), padding="same")
    np.testing.assert_array_equal(y.ravel(), [3, 6, 12, 8])


# -- layers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer, shape", [(Conv1D(3, 3, strides=2, padding="same", activation="tanh"), (2, 7, 2)),
                                          (Conv2D(2, (3, 2), dilation_rate=(1, 2), activation="relu"), (2, 5, 6, 2)),
                                          (Conv3D(2, 2, padding="same", activation="sigmoid"), (1, 3, 3, 3, 2))])
def test_layers_match_finite_differences(rng, layer, shape):
    layer.dtype = np.dtype(np.float64)
    layer.build(shape[1:])
    assert_layer_gradients(layer, rng.standard_normal(shape), rng, rtol=1e-6, atol=1e-7)


def test_small_cnn_gradients_match_finite_differences(rng):
    model = fastnn.Sequential([Conv2D(3, 3, padding="same"), ReLU(), Conv2D(4, 2, strides=2), Flatten(),
                               Dense(3, activation="softmax")], seed=3, dtype="float64")
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = rng.standard_normal((4, 6, 6, 2)), np.array([0, 2, 1, 2])
    model.build(x.shape[1:])
    model.layers[0].input_grad = True

    def loss():
        return float(model.loss(y, model.predict(x)))

    outputs, from_logits = model._forward(x, training=True)
    _, grad = model.loss.from_logits(y, outputs)
    grad = model.layers[-1].backward(grad)
    for layer in reversed(model.layers[:-1]):
        grad = layer.backward(grad)
    for layer in (model.layers[0], model.layers[2]):
        for name, param in layer.params.items():
            np.testing.assert_allclose(layer.grads[name], numeric_gradient(loss, param), rtol=1e-5, atol=1e-8)


def test_auto_init_uses_the_convolution_fans(rng):
    layer = Conv2D(64, 3, activation="relu", seed=1)
    layer.build((9, 9, 32))
    fan_in = 32 * 3 * 3
    assert layer.params["W"].shape == (3, 3, 32, 64)
    # He normal: std sqrt(2 / fan_in); 18,432 samples give the std to ~0.5%
    assert abs(layer.params["W"].std() / np.sqrt(2 / fan_in) - 1) < 0.03
    tanh = Conv2D(64, 3, activation="tanh", seed=1)
    tanh.build((9, 9, 32))
    bound = np.sqrt(6 / (fan_in + 64 * 9))  # Xavier uniform
    assert np.abs(tanh.params["W"]).max() <= bound and np.abs(tanh.params["W"]).max() > 0.99 * bound


@pytest.mark.parametrize("residual", [False, True])
def test_auto_init_looks_past_batch_norm_to_the_activation(residual):
    from fastnn.layers import BatchNormalization, Residual, Tanh

    def std_of_first_kernel(activation):
        body = [Conv2D(64, 3, padding="same"), BatchNormalization(), activation]
        model = fastnn.Sequential([Residual(*body, shortcut="projection")] if residual else body, seed=2)
        model.build((9, 9, 32))
        return float(model.get_weights()[0].std())

    he, xavier = np.sqrt(2 / (32 * 9)), np.sqrt(2 / (32 * 9 + 64 * 9))  # Xavier uniform's std
    assert abs(std_of_first_kernel(ReLU()) / he - 1) < 0.03
    assert abs(std_of_first_kernel(Tanh()) / xavier - 1) < 0.03


def test_cnn_trains_saves_and_is_reproducible_across_threads(tmp_path):
    x, y = fastnn.datasets.load_digits(as_images=True)
    x, y = x[:512], y[:512]

    def run(threads):
        with num_threads(threads):
            model = fastnn.Sequential([Conv2D(8, 3, padding="same", activation="relu"), Conv2D(16, 3, strides=2),
                                       ReLU(), Flatten(), Dense(10, activation="softmax")], seed=7)
            model.compile(fastnn.optimizers.Adam(0.005), "sparse_categorical_crossentropy", metrics=["accuracy"])
            history = model.fit(x, y, epochs=4, batch_size=64, verbose=0)
        return model, history.history

    model, history = run(1)
    assert history["accuracy"][-1] > 0.8, history  # chance is 0.1
    other, other_history = run(2)
    assert other_history == history
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), other.get_weights()))
    model.save(tmp_path / "cnn.fastnn")
    loaded = fastnn.load_model(tmp_path / "cnn.fastnn")
    assert np.array_equal(loaded.predict(x[:20]), model.predict(x[:20]))
    assert "Conv2D" in str(loaded.layers[0].__class__.__name__)


# -- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, w_shape, kwargs, error, match", [
    ((2, 5, 5, 3), (3, 3, 2, 4), {}, ValueError, "channels"),
    ((2, 5, 3), (3, 3, 3, 4), {}, ValueError, "spatial dimension"),
    ((2, 5, 5, 3), (3, 4), {}, ValueError, "kernel_size"),
    ((2, 5, 5, 3), (0, 3, 3, 4), {}, ValueError, "kernel sizes >= 1"),
    ((2, 2, 2, 3), (3, 3, 3, 4), {}, ValueError, "larger than the input"),
    ((2, 5, 5, 3), (3, 3, 3, 4), {"strides": 0}, ValueError, "strides"),
    ((2, 5, 5, 3), (3, 3, 3, 4), {"strides": (1, 2, 1)}, ValueError, "strides"),
    ((2, 5, 5, 3), (3, 3, 3, 4), {"dilation": -1}, ValueError, "dilation"),
    ((2, 5, 5, 3), (3, 3, 3, 4), {"padding": "full"}, ValueError, "padding"),
    ((2, 5, 5, 3), (3, 3, 3, 4), {"padding": 1}, TypeError, "padding"),
    ((2, 5, 5, 3), (3, 3, 3, 4), {"strides": 1.5}, TypeError, "strides"),
])
def test_bad_input_is_named(x_shape, w_shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        fastnn.ops.conv(np.ones(x_shape), np.ones(w_shape), **kwargs)


@pytest.mark.parametrize("make, error, match", [
    (lambda: Conv2D(0, 3), ValueError, "filters"),
    (lambda: Conv2D(4, (3, 3, 3)), ValueError, "kernel_size"),
    (lambda: Conv2D(4, 3, padding="full"), ValueError, "padding"),
    (lambda: Conv2D(4, 3, activation="softmax"), ValueError, "activation"),
    (lambda: Conv1D(4, 3, strides=0), ValueError, "strides"),
])
def test_bad_layer_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_mixed_float_dtypes_are_refused_as_everywhere():
    x, w = np.ones((1, 4, 4, 2), np.float32), np.ones((3, 3, 2, 2), np.float32)
    with pytest.raises(TypeError, match="share one float dtype"):
        fastnn.ops.conv(x, w.astype(np.float64))
    with pytest.raises(TypeError, match="share one float dtype"):
        fastnn.ops.conv_backward(np.ones((1, 2, 2, 2)), x, w)  # a float64 dy


def test_layer_rejects_wrong_rank_and_too_small_inputs():
    with pytest.raises(ValueError, match="height, width, channels"):
        Conv2D(4, 3).forward(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match="larger than the input"):
        Conv2D(4, 5).forward(np.ones((2, 3, 3, 1)))


def test_training_calls_the_kernels_directly_with_the_inference_result_and_checks_dy(rng):
    """In training the layer skips ops.conv's argument checks (its arrays are its own); it must
    give bitwise what the checked path gives, also for a new batch size, and name a bad dy."""
    layer = Conv2D(5, 3, strides=2, padding="same", activation="relu")
    for batch in (3, 2):
        x = rng.standard_normal((batch, 7, 6, 2)).astype(np.float32)
        y = layer.forward(x, training=True).copy()
        np.testing.assert_array_equal(y, layer.forward(x, training=False))
        layer.forward(x, training=True)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = layer.backward(dy)
        want = fastnn.ops.conv_backward(dy, x, layer.params["W"], y, strides=2, padding="same", activation="relu")
        for got, expected in zip((dx, layer.grads["W"], layer.grads["b"]), want):
            np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="dy must have the output's shape"):
        layer.backward(np.ones((2, 4, 3, 4), np.float32))
