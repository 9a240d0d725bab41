"""fastnn.ops.linear / linear_backward: against float64 NumPy references, against finite
differences (float64), and against the unfused composition of matmul and dropout."""

import numpy as np
import pytest
from scipy.special import expit

import fastnn
from conftest import blocking, machine_eps, num_threads, numeric_gradient

DTYPES = [np.float32, np.float64]
ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh"]


def activate(z, activation, alpha):
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "leaky_relu":
        return np.where(z < 0, alpha * z, z)
    if activation == "sigmoid":
        return expit(z)
    if activation == "tanh":
        return np.tanh(z)
    return z


def keep_mask(shape, rate, seed, offset):
    """The documented rule: drop where the 32-bit draw at the element's position < round(rate * 2**32)."""
    if rate == 0:
        return np.ones(shape, bool)
    return fastnn.random.random_bits(shape, seed=seed, offset=offset) >= round(rate * 2**32)


def make_inputs(rng, m, k, n, dtype):
    x = rng.standard_normal((m, k)).astype(dtype)
    w = (rng.standard_normal((k, n)) / np.sqrt(max(k, 1))).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    return x, w, b


def forward_bound(x, w, b, reference, scale, dtype):
    """Rounding of the k-term sums and the bias, then the (1-Lipschitz) activation's own few ulp."""
    eps = machine_eps(dtype)
    k = x.shape[1]
    magnitude = np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)) + np.abs(b)
    return scale * ((k + 2) * eps * magnitude + 8 * eps * np.abs(reference)) + np.finfo(dtype).tiny


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("rate", [0.0, 0.3])
@pytest.mark.parametrize("with_bias", [True, False])
def test_forward_matches_reference(rng, dtype, activation, rate, with_bias):
    bs = blocking(dtype)
    # (130, 37, 10): a narrow output computed transposed (its epilogue sees the usual tiles);
    # (130, 70, 10) and (130, 37, 3): dot products in 48-row calls where the ISA has the kernel
    for m, k, n in [(1, 1, 1), (7, 13, 2), (bs["mr"] + 1, bs["kc"] + 1, bs["nr"] + 1), (97, 300, 131), (130, 37, 10),
                    (130, 70, 10), (130, 37, 3)]:
        x, w, b = make_inputs(rng, m, k, n, dtype)
        if not with_bias:
            b = np.zeros(n, dtype)
        seed, offset = int(rng.integers(2**63)), int(rng.integers(1000))
        y = fastnn.ops.linear(x, w, b if with_bias else None, activation=activation, alpha=0.1, dropout=rate,
                              seed=seed, offset=offset)
        scale = 1.0 / (1.0 - rate)
        z = x.astype(np.float64) @ w.astype(np.float64) + b.astype(np.float64)
        reference = activate(z, activation, 0.1) * keep_mask((m, n), rate, seed, offset) * scale
        assert y.dtype == dtype and y.shape == (m, n)
        assert np.all(np.abs(y - reference) <= forward_bound(x, w, b, reference, scale, dtype))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_float32_sigmoid_and_tanh_are_accurate_over_the_whole_range(activation):
    """float32 computes e^x with its own branch-free polynomial (vectorized, no libm call): within
    2 ulp of the float64 function wherever the result is a normal float, within 2 FLT_MIN below,
    NaN in NaN out, and the limits at infinity. A 1 x 1 identity weight makes y = act(x) exactly."""
    x = np.concatenate([np.linspace(-100, 100, 200_001), np.geomspace(1e-30, 10, 20_001),
                        -np.geomspace(1e-30, 10, 20_001), np.linspace(-88, -86, 10_001),
                        np.linspace(0.6, 0.65, 10_001)]).astype(np.float32)
    y = fastnn.ops.linear(x[:, None], np.ones((1, 1), np.float32), activation=activation)[:, 0].astype(np.float64)
    reference = expit(x.astype(np.float64)) if activation == "sigmoid" else np.tanh(x.astype(np.float64))
    tiny = np.finfo(np.float32).tiny
    normal = np.abs(reference) >= tiny
    ulp = np.spacing(np.abs(reference[normal]).astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(y[normal] - reference[normal]) <= 2 * ulp)
    assert np.all(np.abs(y[~normal] - reference[~normal]) <= 2 * tiny)
    special = fastnn.ops.linear(np.array([[np.nan], [np.inf], [-np.inf]], np.float32), np.ones((1, 1), np.float32),
                                activation=activation)[:, 0]
    assert np.isnan(special[0])
    np.testing.assert_allclose(special[1:], [1.0, 0.0] if activation == "sigmoid" else [1.0, -1.0], atol=2 * tiny)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_dropout_equals_dropout_after_the_layer(rng, dtype):
    x, w, b = make_inputs(rng, 50, 70, 90, dtype)
    plain = fastnn.ops.linear(x, w, b, activation="relu")
    fused = fastnn.ops.linear(x, w, b, activation="relu", dropout=0.4, seed=11, offset=5)
    np.testing.assert_array_equal(fused, fastnn.ops.dropout(plain, 0.4, seed=11, offset=5))


def test_rows_of_a_batch_equal_a_call_with_the_matching_offset(rng):
    """Element (i, j) uses position offset + i*n + j, and its value does not depend on the tiling."""
    x, w, b = make_inputs(rng, 40, 33, 21, np.float32)
    whole = fastnn.ops.linear(x, w, b, activation="tanh", dropout=0.5, seed=3, offset=100)
    tail = fastnn.ops.linear(x[7:], w, b, activation="tanh", dropout=0.5, seed=3, offset=100 + 7 * 21)
    np.testing.assert_array_equal(whole[7:], tail)


def test_training_false_skips_dropout(rng):
    x, w, b = make_inputs(rng, 20, 10, 30, np.float64)
    np.testing.assert_array_equal(
        fastnn.ops.linear(x, w, b, activation="relu", dropout=0.5, seed=1, training=False),
        fastnn.ops.linear(x, w, b, activation="relu"),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n", [(300, 250), (300, 10), (4000, 10), (8000, 3)])
def test_bitwise_identical_for_any_thread_count(rng, dtype, m, n):
    x, w, b = make_inputs(rng, m, 200, n, dtype)  # (4000 or 8000 rows: the narrow path on several threads)
    outputs, gradients = [], []
    dy = rng.standard_normal((m, n)).astype(dtype)
    for threads in (1, 2, 3):
        with num_threads(threads):
            y = fastnn.ops.linear(x, w, b, activation="sigmoid", dropout=0.2, seed=9)
            outputs.append(y)
            gradients.append(fastnn.ops.linear_backward(dy, x, w, y, activation="sigmoid", dropout=0.2, seed=9))
    for y, grads in zip(outputs[1:], gradients[1:]):
        np.testing.assert_array_equal(outputs[0], y)
        for expected, got in zip(gradients[0], grads):
            np.testing.assert_array_equal(expected, got)


def derivative(z, y, activation, alpha):
    """act'(z); for the ReLU family from the layer's own output y, as the contract says (no kink ambiguity)."""
    if activation == "relu":
        return (y > 0).astype(np.float64)
    if activation == "leaky_relu":
        return np.where(y > 0, 1.0, alpha)
    if activation == "sigmoid":
        s = expit(z)
        return s * (1 - s)
    if activation == "tanh":
        return 1 - np.tanh(z) ** 2
    return np.ones_like(z)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_backward_matches_reference(rng, dtype, activation, rate):
    for m, k, n in [(1, 1, 1), (5, 9, 3), (65, 130, 257)]:
        x, w, b = make_inputs(rng, m, k, n, dtype)
        dy = rng.standard_normal((m, n)).astype(dtype)
        settings = dict(activation=activation, alpha=0.2, dropout=rate, seed=77, offset=3)
        y = fastnn.ops.linear(x, w, b, **settings)
        dx, dw, db = fastnn.ops.linear_backward(dy, x, w, y, **settings)
        scale = 1.0 / (1.0 - rate)
        z = x.astype(np.float64) @ w.astype(np.float64) + b
        unscaled_y = y.astype(np.float64) / scale
        g = dy * keep_mask((m, n), rate, 77, 3) * scale * derivative(z, unscaled_y, activation, 0.2)
        eps = machine_eps(dtype)
        x64, w64 = x.astype(np.float64), w.astype(np.float64)
        # g itself carries a few ulp (the derivative is taken from the rounded y).
        tol_g = 16 * eps * np.abs(dy) * scale + np.finfo(dtype).tiny
        for got, expected, bound in [
            (dx, g @ w64.T, (n + 2) * eps * (np.abs(g) @ np.abs(w64.T)) + tol_g.sum(1, keepdims=True) * np.abs(w64).max()),
            (dw, x64.T @ g, (m + 2) * eps * (np.abs(x64.T) @ np.abs(g)) + np.abs(x64.T) @ tol_g),
            (db, g.sum(0), (m + 2) * eps * np.abs(g).sum(0) + tol_g.sum(0)),
        ]:
            assert got.dtype == dtype and got.shape == expected.shape
            assert np.all(np.abs(got - expected) <= bound + np.finfo(dtype).tiny)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("rate", [0.0, 0.4])
def test_backward_matches_finite_differences(rng, activation, rate):
    """Central differences of L = sum(r * linear(x, w, b)) in float64; inputs kept off the ReLU kink."""
    m, k, n = 4, 6, 5
    settings = dict(activation=activation, alpha=0.1, dropout=rate, seed=5, offset=17)
    while True:
        x, w, b = make_inputs(rng, m, k, n, np.float64)
        if np.abs(x @ w + b).min() > 1e-2:
            break
    r = rng.standard_normal((m, n))

    def loss(x_, w_, b_):
        return float(np.sum(r * fastnn.ops.linear(x_, w_, b_, **settings)))

    y = fastnn.ops.linear(x, w, b, **settings)
    dx, dw, db = fastnn.ops.linear_backward(r, x, w, y, **settings)
    for parameter, analytic in [(x, dx), (w, dw), (b, db)]:
        numeric = numeric_gradient(lambda: loss(x, w, b), parameter)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


def test_backward_without_y_for_identity(rng):
    x, w, b = make_inputs(rng, 6, 4, 3, np.float64)
    dy = rng.standard_normal((6, 3))
    dx, dw, db = fastnn.ops.linear_backward(dy, x, w, None)
    # atol: a sum that cancels to near zero has no relative accuracy in any summation order
    np.testing.assert_allclose(dx, dy @ w.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dw, x.T @ dy, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(db, dy.sum(0), rtol=1e-12, atol=1e-14)


def test_empty_batch_and_empty_features():
    y = fastnn.ops.linear(np.ones((0, 3)), np.ones((3, 4)), np.ones(4), activation="relu")
    assert y.shape == (0, 4)
    y = fastnn.ops.linear(np.ones((2, 0)), np.ones((0, 4)), np.full(4, -1.0), activation="relu")
    np.testing.assert_array_equal(y, np.zeros((2, 4)))  # relu(0 + b) with b = -1
    dx, dw, db = fastnn.ops.linear_backward(np.ones((2, 4)), np.ones((2, 0)), np.ones((0, 4)), None)
    assert dx.shape == (2, 0) and dw.shape == (0, 4)
    np.testing.assert_array_equal(db, [2, 2, 2, 2])


def test_out_is_written_in_place(rng):
    x, w, b = make_inputs(rng, 8, 5, 6, np.float32)
    out = np.empty((8, 6), np.float32)
    assert fastnn.ops.linear(x, w, b, activation="relu", out=out) is out
    np.testing.assert_array_equal(out, fastnn.ops.linear(x, w, b, activation="relu"))


@pytest.mark.parametrize("input_grad", [True, False])
def test_backward_out_is_written_in_place(rng, input_grad):
    x, w, b = make_inputs(rng, 9, 5, 7, np.float32)
    y = fastnn.ops.linear(x, w, b, activation="relu", dropout=0.3, seed=4)
    dy = rng.standard_normal((9, 7)).astype(np.float32)
    settings = dict(activation="relu", dropout=0.3, seed=4, input_grad=input_grad)
    out = (np.empty((9, 5), np.float32) if input_grad else None, np.empty((5, 7), np.float32), np.empty(7, np.float32))
    got = fastnn.ops.linear_backward(dy, x, w, y, out=out, **settings)
    assert all(g is o for g, o in zip(got, out))
    for g, want in zip(got, fastnn.ops.linear_backward(dy, x, w, y, **settings)):
        if want is None:
            assert g is None
        else:
            np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("out, input_grad, error, match", [
    ("dw", True, TypeError, "tuple"),
    ((None, "dw", "db"), True, TypeError, r"out\[0\] \(dx\)"),
    (("dx", "dw", "db"), False, ValueError, "None for dx"),
    (("dx", "dx", "db"), True, ValueError, r"out\[1\] \(dw\)"),
    (("dx", "dw", "dy"), True, ValueError, r"out\[2\] \(db\)` overlaps"),
    (("dx", "dw", "db32"), True, ValueError, r"out\[2\] \(db\)` must have dtype"),
])
def test_backward_out_is_checked(rng, out, input_grad, error, match):
    x, w, _ = make_inputs(rng, 4, 3, 2, np.float64)
    dy = rng.standard_normal((4, 2))
    arrays = {"dx": np.empty((4, 3)), "dw": np.empty((3, 2)), "db": np.empty(2), "db32": np.empty(2, np.float32),
              "dy": dy[0]}
    out = arrays[out] if isinstance(out, str) else tuple(None if name is None else arrays[name] for name in out)
    with pytest.raises(error, match=match):
        fastnn.ops.linear_backward(dy, x, w, None, input_grad=input_grad, out=out)


class TestBadInput:
    def setup_method(self):
        self.x, self.w, self.b = np.ones((4, 3)), np.ones((3, 2)), np.ones(2)

    def test_x_and_w_must_chain(self):
        with pytest.raises(ValueError, match=r"x has shape \(4, 3\) and w has shape \(4, 2\)"):
            fastnn.ops.linear(self.x, np.ones((4, 2)))

    def test_bias_shape(self):
        with pytest.raises(ValueError, match=r"`b` must have shape \(2,\)"):
            fastnn.ops.linear(self.x, self.w, np.ones(3))

    def test_three_dimensional_input(self):
        with pytest.raises(ValueError, match="`x` must be a 2-D array"):
            fastnn.ops.linear(np.ones((2, 4, 3)), self.w)

    def test_unknown_activation(self):
        with pytest.raises(ValueError, match="activation.*Received: activation='gelu'"):
            fastnn.ops.linear(self.x, self.w, activation="gelu")

    @pytest.mark.parametrize("alpha, error", [(-0.1, ValueError), (float("nan"), ValueError), ("0.1", TypeError)])
    def test_bad_alpha(self, alpha, error):
        with pytest.raises(error, match="alpha"):
            fastnn.ops.linear(self.x, self.w, activation="leaky_relu", alpha=alpha)

    @pytest.mark.parametrize("rate", [1.0, -0.1, float("nan"), 2])
    def test_bad_dropout_rate(self, rate):
        with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\)"):
            fastnn.ops.linear(self.x, self.w, dropout=rate)

    def test_mixed_dtypes(self):
        with pytest.raises(TypeError, match="x is float32, w is float64"):
            fastnn.ops.linear(self.x.astype(np.float32), self.w)

    @pytest.mark.parametrize("seed", [-1, 2**64])
    def test_seed_range(self, seed):
        with pytest.raises(ValueError, match="seed"):
            fastnn.ops.linear(self.x, self.w, dropout=0.5, seed=seed)

    def test_offset_overflowing_the_stream(self):
        with pytest.raises(ValueError, match="offset"):
            fastnn.ops.linear(self.x, self.w, dropout=0.5, offset=2**64 - 3)

    def test_out_overlapping_the_input(self):
        x = np.ones((4, 4))
        with pytest.raises(ValueError, match="overlaps"):
            fastnn.ops.linear(x, np.ones((4, 4)), out=x)

    def test_backward_needs_y_for_nonlinear_activations(self):
        with pytest.raises(ValueError, match="`y` is needed"):
            fastnn.ops.linear_backward(np.ones((4, 2)), self.x, self.w, None, activation="relu")

    def test_backward_dy_shape(self):
        with pytest.raises(ValueError, match=r"`dy` must have shape \(4, 2\)"):
            fastnn.ops.linear_backward(np.ones((4, 3)), self.x, self.w, None)


def test_activation_none_is_the_identity_in_every_op(rng):
    """The layers take activation=None for no activation; the ops take it too."""
    ops = fastnn.ops
    x, w, dy = rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    y = ops.linear(x, w, activation="identity")
    np.testing.assert_array_equal(ops.linear(x, w, activation=None), y)
    for got, want in zip(ops.linear_backward(dy, x, w, y, activation=None),
                         ops.linear_backward(dy, x, w, y, activation="identity")):
        np.testing.assert_array_equal(got, want)
    images, kernel = rng.normal(size=(2, 5, 5, 2)), rng.normal(size=(3, 3, 2, 3))
    np.testing.assert_array_equal(ops.conv(images, kernel, activation=None), ops.conv(images, kernel))
    dy_images = rng.normal(size=(2, 3, 3, 3))
    for got, want in zip(ops.conv_backward(dy_images, images, kernel, activation=None),
                         ops.conv_backward(dy_images, images, kernel)):
        np.testing.assert_array_equal(got, want)
    gamma, beta = np.ones(4), np.zeros(4)
    y_norm, mean, variance = ops.batch_norm(x, gamma, beta, activation=None)
    np.testing.assert_array_equal(y_norm, ops.batch_norm(x, gamma, beta)[0])
    for got, want in zip(ops.batch_norm_backward(dy[:, :1] * x, x, gamma, mean, variance, activation=None),
                         ops.batch_norm_backward(dy[:, :1] * x, x, gamma, mean, variance)):
        np.testing.assert_array_equal(got, want)
