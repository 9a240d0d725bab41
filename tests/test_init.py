"""Tests of fastnn.init: fans, gains, every initializer's distribution, and argument checks.

Expected parameters are computed here by hand from the formulas in the module docstring (and
PyTorch's / Keras's published definitions), never by calling the code under test. Statistical
thresholds give a correct implementation a false-failure probability below about 1e-6 per
test (ALPHA for p-values, 5.5 standard errors for moments); the seeds are fixed.
"""

import math

import numpy as np
import pytest
from scipy import stats

import fastnn
from conftest import num_threads

init = fastnn.init

ALPHA = 1e-6  # p-value threshold of the KS tests
Z_BOUND = 5.5  # P(|Z| > 5.5) = 3.8e-8
TRUNC_STD = 0.87962566103423978  # std of N(0, 1) restricted to [-2, 2] (checked in test_random)


def assert_ks(sample, cdf):
    result = stats.kstest(np.asarray(sample, np.float64).ravel(), cdf)
    assert result.pvalue > ALPHA, f"KS statistic {result.statistic:.3g}, p = {result.pvalue:.3g}"


def assert_moments(sample, mean, var, mu4):
    """Mean within Z_BOUND * sqrt(var / n); mean of (x - mean)**2 within Z_BOUND * sqrt((mu4 - var**2) / n)."""
    x = np.asarray(sample, np.float64).ravel()
    n = x.size
    assert abs(x.mean() - mean) < Z_BOUND * math.sqrt(var / n), (x.mean(), mean)
    sample_var = np.mean((x - mean) ** 2)
    assert abs(sample_var - var) < Z_BOUND * math.sqrt((mu4 - var**2) / n), (sample_var, var)


def uniform_dist(bound, low=None):
    """U(-bound, bound), or U(low, bound) when low is given."""
    low = -bound if low is None else low
    return stats.uniform(loc=low, scale=bound - low)


def normal_dist(std, mean=0.0):
    return stats.norm(loc=mean, scale=std)


def truncated_dist(sigma0, mean=0.0):
    """The normal N(mean, sigma0**2) restricted to mean +- 2 sigma0."""
    return stats.truncnorm(-2, 2, loc=mean, scale=sigma0)


# --------------------------------------------------------------------------------------------
# compute_fans and calculate_gain.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, fans",
    [
        ((784, 512), (784, 512)),  # dense: (fan_in, fan_out)
        ((3, 3, 16, 32), (3 * 3 * 16, 3 * 3 * 32)),  # 3x3 conv, 16 -> 32 channels: (144, 288)
        ((5, 8, 4), (5 * 8, 5 * 4)),  # 1-D conv, kernel 5, 8 -> 4 channels: (40, 20)
        ((2, 3, 4, 5, 6), (2 * 3 * 4 * 5, 2 * 3 * 4 * 6)),  # 3-D conv: (120, 144)
        ((7,), (7, 7)),
        ((), (1, 1)),
        ((1, 1), (1, 1)),
        ([10, 20], (10, 20)),
        (np.int64(9), (9, 9)),
    ],
)
def test_compute_fans(shape, fans):
    assert init.compute_fans(shape) == fans
    assert all(type(f) is int for f in init.compute_fans(shape))


def test_compute_fans_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        init.compute_fans((3, -1))
    with pytest.raises(TypeError, match="shape"):
        init.compute_fans((3.0, 2))


@pytest.mark.parametrize(
    "nonlinearity, param, gain",
    [  # PyTorch's torch.nn.init.calculate_gain table
        ("linear", None, 1.0),
        ("identity", None, 1.0),
        ("sigmoid", None, 1.0),
        ("conv1d", None, 1.0),
        ("conv2d", None, 1.0),
        ("conv3d", None, 1.0),
        ("conv_transpose1d", None, 1.0),
        ("conv_transpose2d", None, 1.0),
        ("conv_transpose3d", None, 1.0),
        ("tanh", None, 5.0 / 3.0),
        ("relu", None, math.sqrt(2.0)),
        ("leaky_relu", None, math.sqrt(2.0 / (1.0 + 0.01**2))),  # default negative slope 0.01
        ("leaky_relu", 0.0, math.sqrt(2.0)),
        ("leaky_relu", 0.2, math.sqrt(2.0 / 1.04)),
        ("leaky_relu", 1, 1.0),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain(nonlinearity, param, gain):
    args = (nonlinearity,) if param is None else (nonlinearity, param)
    assert init.calculate_gain(*args) == pytest.approx(gain, rel=1e-15)


@pytest.mark.parametrize("name", ["gelu", "ReLU", "", None, 3])
def test_calculate_gain_unknown_nonlinearity(name):
    with pytest.raises(ValueError if isinstance(name, str) else TypeError, match="nonlinearity"):
        init.calculate_gain(name)


@pytest.mark.parametrize("param, error", [(float("nan"), ValueError), (float("inf"), ValueError), ("0.1", TypeError)])
def test_calculate_gain_bad_param(param, error):
    with pytest.raises(error, match="param"):
        init.calculate_gain("leaky_relu", param)


# --------------------------------------------------------------------------------------------
# The random initializers: one table of (call, distribution, mean, var, mu4), parameters by hand.
# --------------------------------------------------------------------------------------------


def _uniform_case(bound, low=None):
    low = -bound if low is None else low
    width = bound - low
    return uniform_dist(bound, low), (low + bound) / 2, width**2 / 12, width**4 / 80


def _normal_case(std, mean=0.0):
    return normal_dist(std, mean), mean, std**2, 3 * std**4


def _truncated_case(sigma0, mean=0.0):
    unit = stats.truncnorm(-2, 2)
    return truncated_dist(sigma0, mean), mean, unit.var() * sigma0**2, unit.moment(4) * sigma0**4


# (id, initializer, kwargs, shape, (dist, mean, var, mu4))
DISTRIBUTION_CASES = [
    ("uniform", init.uniform, {}, (400, 250), _uniform_case(0.05)),
    ("uniform-low-high", init.uniform, {"low": 1.0, "high": 3.0}, (400, 250), _uniform_case(3.0, low=1.0)),
    ("normal", init.normal, {}, (400, 250), _normal_case(0.05)),
    ("normal-mean-std", init.normal, {"mean": 2.0, "std": 0.5}, (400, 250), _normal_case(0.5, 2.0)),
    ("truncated_normal", init.truncated_normal, {}, (400, 250), _truncated_case(0.05)),
    ("truncated_normal-mean-std", init.truncated_normal, {"mean": 1.0, "std": 2.0}, (400, 250), _truncated_case(2.0, 1.0)),
    # Xavier: a = gain * sqrt(6 / (fan_in + fan_out)); sigma**2 = gain**2 * 2 / (fan_in + fan_out)
    ("xavier_uniform", init.xavier_uniform, {}, (300, 700), _uniform_case(math.sqrt(6 / 1000))),
    ("xavier_uniform-tanh-conv", init.xavier_uniform, {"gain": 5 / 3}, (3, 3, 16, 64),
     _uniform_case(5 / 3 * math.sqrt(6 / (144 + 576)))),
    ("xavier_normal", init.xavier_normal, {}, (300, 700), _normal_case(math.sqrt(2 / 1000))),
    ("xavier_normal-gain", init.xavier_normal, {"gain": 2.0}, (300, 700), _normal_case(2.0 * math.sqrt(2 / 1000))),
    # He: gain**2 = 2 / (1 + a**2); normal sigma**2 = gain**2 / fan, uniform b = gain * sqrt(3 / fan)
    ("he_normal", init.he_normal, {}, (1000, 500), _normal_case(math.sqrt(2 / 1000))),
    ("he_normal-relu-fan_out", init.he_normal, {"mode": "fan_out", "nonlinearity": "relu"}, (1000, 500),
     _normal_case(math.sqrt(2 / 500))),
    ("he_normal-a-conv", init.he_normal, {"a": 0.5}, (3, 3, 32, 400),
     _normal_case(math.sqrt(2 / (1 + 0.25) / (3 * 3 * 32)))),
    ("he_normal-tanh", init.he_normal, {"nonlinearity": "tanh"}, (1000, 500), _normal_case(5 / 3 / math.sqrt(1000))),
    ("he_uniform", init.he_uniform, {}, (1000, 500), _uniform_case(math.sqrt(6 / 1000))),
    ("he_uniform-a-fan_out", init.he_uniform, {"a": 0.2, "mode": "fan_out"}, (400, 250),
     _uniform_case(math.sqrt(2 / 1.04) * math.sqrt(3 / 250))),
    ("he_uniform-relu-conv-fan_out", init.he_uniform, {"nonlinearity": "relu", "mode": "fan_out"}, (5, 5, 100, 40),
     _uniform_case(math.sqrt(2) * math.sqrt(3 / (5 * 5 * 40)))),
    # LeCun: sigma**2 = 1 / fan_in, a = sqrt(3 / fan_in)
    ("lecun_uniform-conv", init.lecun_uniform, {}, (3, 3, 64, 256), _uniform_case(math.sqrt(3 / 576))),
    ("lecun_normal-conv", init.lecun_normal, {}, (5, 5, 16, 300), _normal_case(math.sqrt(1 / 400))),
]

# variance_scaling on a conv shape: fan_in = 5*5*40 = 1000, fan_out = 5*5*100 = 2500, fan_avg = 1750.
VS_SHAPE = (5, 5, 40, 100)
VS_SCALE = 2.5
VS_FANS = {"fan_in": 1000, "fan_out": 2500, "fan_avg": 1750}


def _vs_case(mode, distribution):
    variance = VS_SCALE / VS_FANS[mode]
    if distribution == "uniform":
        return _uniform_case(math.sqrt(3 * variance))
    if distribution == "truncated_normal":
        return _truncated_case(math.sqrt(variance) / TRUNC_STD)
    return _normal_case(math.sqrt(variance))


for _mode in VS_FANS:
    for _distribution in ("normal", "untruncated_normal", "truncated_normal", "uniform"):
        DISTRIBUTION_CASES.append(
            (f"variance_scaling-{_mode}-{_distribution}", init.variance_scaling,
             {"scale": VS_SCALE, "mode": _mode, "distribution": _distribution}, VS_SHAPE, _vs_case(_mode, _distribution))
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn, kwargs, shape, case", [c[1:] for c in DISTRIBUTION_CASES], ids=[c[0] for c in DISTRIBUTION_CASES])
def test_initializer_distribution(fn, kwargs, shape, case, dtype):
    """KS test against the stated distribution, and mean/variance with standard-error bounds."""
    dist, mean, var, mu4 = case
    w = fn(shape, seed=1234, dtype=dtype, **kwargs)
    assert w.shape == shape and w.dtype == np.dtype(dtype)
    assert_ks(w, dist.cdf)
    assert_moments(w, mean, var, mu4)
    # The support: uniform values in [low, high), truncated ones within 2 sigma0 of the mean.
    lo, hi = dist.support()
    slack = 1e-6 if dtype == np.float32 else 1e-12  # the library rounds its own sqrt and division
    span = hi - lo
    assert w.min() >= lo - slack * span and w.max() <= hi + slack * span


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
def test_variance_scaling_truncated_normal_keeps_the_variance(mode):
    """After truncation the variance is still scale / n, and no value lies beyond 2 sigma0."""
    variance = VS_SCALE / VS_FANS[mode]
    sigma0 = math.sqrt(variance) / TRUNC_STD
    w = init.variance_scaling(VS_SHAPE, scale=VS_SCALE, mode=mode, distribution="truncated_normal", seed=7, dtype=np.float64)
    mu4 = stats.truncnorm(-2, 2).moment(4) * sigma0**4
    assert abs(np.mean(w**2) - variance) < Z_BOUND * math.sqrt((mu4 - variance**2) / w.size)
    assert np.max(np.abs(w)) <= 2 * sigma0 * (1 + 1e-12)
    # ... and the truncation is at 2 sigma0, not inside it: P(|z| in [1.99, 2]) * 1e5 ~ 60 values.
    assert np.max(np.abs(w)) > 1.99 * sigma0


def test_variance_scaling_scalar_and_empty_shapes():
    """A 0-D shape has fan_in = fan_out = 1, so uniform scale 4 draws from U[-sqrt(12), sqrt(12));
    an empty shape gives an empty array."""
    w = init.variance_scaling((), scale=4.0, distribution="uniform", seed=3, dtype=np.float64)
    assert w.shape == () and abs(float(w)) < math.sqrt(12.0)
    assert init.variance_scaling((1, 0), mode="fan_avg", seed=3).shape == (1, 0)


# --------------------------------------------------------------------------------------------
# Reproducibility, shapes and dtypes of every random initializer.
# --------------------------------------------------------------------------------------------

RANDOM_INITIALIZERS = [
    "uniform", "normal", "truncated_normal", "variance_scaling", "xavier_uniform", "xavier_normal",
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal",
    "lecun_uniform", "lecun_normal", "orthogonal",
]
DETERMINISTIC_INITIALIZERS = ["zeros", "ones", "constant", "identity"]
ALL_INITIALIZERS = RANDOM_INITIALIZERS + DETERMINISTIC_INITIALIZERS


@pytest.mark.parametrize("name", RANDOM_INITIALIZERS)
@pytest.mark.parametrize("shape", [(20, 30), (3, 3, 4, 8)])
def test_random_initializer_shape_dtype_and_seeds(name, shape):
    fn = getattr(init, name)
    default = fn(shape, seed=5)
    assert default.shape == shape and default.dtype == np.float32
    as64 = fn(shape, seed=5, dtype=np.float64)
    assert as64.shape == shape and as64.dtype == np.float64
    assert np.all(np.isfinite(default)) and np.all(np.isfinite(as64))
    np.testing.assert_array_equal(fn(shape, seed=5), default)  # same seed: bitwise the same
    np.testing.assert_array_equal(fn(shape, seed=5, dtype=np.float64), as64)
    # A different seed: independent draws; equal continuous values have probability ~0.
    assert np.count_nonzero(fn(shape, seed=6) == default) <= 1
    assert np.count_nonzero(fn(shape, seed=2**32 + 5) == default) <= 1
    # seed=None draws a fresh seed each call.
    assert not np.array_equal(fn(shape), fn(shape))


@pytest.mark.parametrize("name", RANDOM_INITIALIZERS)
def test_random_initializer_is_the_same_for_any_thread_count(name):
    fn = getattr(init, name)
    shape = (600, 600) if name != "orthogonal" else (200, 100)
    with num_threads(1):
        one = fn(shape, seed=17)
    with num_threads(2):
        two = fn(shape, seed=17)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("alias, target", [
    ("glorot_uniform", "xavier_uniform"), ("glorot_normal", "xavier_normal"),
    ("kaiming_uniform", "he_uniform"), ("kaiming_normal", "he_normal"),
])
def test_aliases(alias, target):
    assert getattr(init, alias) is getattr(init, target)


@pytest.mark.parametrize("name", ALL_INITIALIZERS)
def test_empty_shapes(name):
    fn = getattr(init, name)
    shape = (0, 5)
    w = fn(shape, seed=1)
    assert w.shape == shape and w.dtype == np.float32


# --------------------------------------------------------------------------------------------
# orthogonal.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize(
    "shape, rows, cols",
    [((200, 50), 200, 50), ((50, 200), 50, 200), ((64, 64), 64, 64), ((3, 3, 16, 32), 144, 32),
     ((1, 1, 8, 64), 8, 64), ((2, 5, 7), 10, 7)],
)
def test_orthogonal_has_orthonormal_rows_or_columns(shape, rows, cols, dtype, tol):
    """The matrix (prod(shape[:-1]), shape[-1]): W.T W = I when tall, W W.T = I when wide."""
    w = init.orthogonal(shape, seed=21, dtype=dtype)
    assert w.shape == shape and w.dtype == np.dtype(dtype)
    m = w.reshape(rows, cols).astype(np.float64)
    gram = m.T @ m if rows >= cols else m @ m.T
    # float32 rounding of each entry (relative 6e-8) perturbs each Gram entry by ~1e-7.
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=tol)


@pytest.mark.parametrize("gain", [0.5, 2.5])
def test_orthogonal_gain_scales(gain):
    base = init.orthogonal((40, 30), seed=8, dtype=np.float64)
    scaled = init.orthogonal((40, 30), gain=gain, seed=8, dtype=np.float64)
    np.testing.assert_allclose(scaled, gain * base, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(scaled.T @ scaled, gain**2 * np.eye(30), atol=1e-13)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_orthogonal_needs_two_dimensions(shape):
    with pytest.raises(ValueError, match="shape"):
        init.orthogonal(shape, seed=0)


@pytest.mark.parametrize("rows, cols", [(32, 32), (48, 16)])
def test_orthogonal_diagonal_is_unbiased(rows, cols):
    """A Haar-distributed (rows x cols) matrix, the first cols columns of a Haar O(rows) matrix,
    has E[W_ii] = 0, E[W_ii**2] = 1/rows and uncorrelated entries: the sum of its diagonal has
    variance cols / rows. Over k seeds the mean diagonal entry has sd sqrt(cols/rows) / (cols sqrt k).
    Without the sign correction of the QR factors the diagonal is biased (about -sqrt(2/(pi rows))).
    """
    k = 40
    diagonals = [np.diagonal(init.orthogonal((rows, cols), seed=seed, dtype=np.float64)) for seed in range(k)]
    mean = float(np.mean(diagonals))
    sd = math.sqrt(cols / rows) / (cols * math.sqrt(k))
    assert abs(mean) < Z_BOUND * sd, (mean, sd)


@pytest.mark.parametrize("rows, cols", [(8, 8), (12, 5), (5, 12)])
@pytest.mark.parametrize("entry", [(0, 0), (4, 4), (1, 3)])
def test_orthogonal_entries_have_the_haar_marginal(rows, cols, entry):
    """Each entry of a Haar (semi-)orthogonal matrix is one coordinate of a uniform unit vector
    in R^n (n the longer side): (w + 1) / 2 ~ Beta((n - 1) / 2, (n - 1) / 2). KS over 300 seeds."""
    n = max(rows, cols)
    sample = [init.orthogonal((rows, cols), seed=seed, dtype=np.float64)[entry] for seed in range(1000, 1300)]
    beta = stats.beta((n - 1) / 2, (n - 1) / 2)
    assert_ks((np.array(sample) + 1) / 2, beta.cdf)


# --------------------------------------------------------------------------------------------
# identity, zeros, ones, constant.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, gain", [((4, 4), 1.0), ((3, 5), 2.5), ((6, 2), 0.1)])
def test_identity(shape, gain, dtype):
    w = init.identity(shape, gain=gain, dtype=dtype)
    expected = np.zeros(shape, dtype)
    for i in range(min(shape)):
        expected[i, i] = gain
    assert w.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(w, expected)


@pytest.mark.parametrize("shape", [(), (4,), (2, 2, 2), (3, 3, 1, 1)])
def test_identity_needs_a_2d_shape(shape):
    with pytest.raises(ValueError, match="shape"):
        init.identity(shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zeros_ones_constant(dtype):
    shape = (3, 4, 5)
    for w, value in [(init.zeros(shape, dtype=dtype), 0.0), (init.ones(shape, dtype=dtype), 1.0),
                     (init.constant(shape, 2.5, dtype=dtype), 2.5), (init.constant(shape, value=-0.125, dtype=dtype), -0.125),
                     (init.constant(shape, dtype=dtype), 0.0)]:
        assert w.shape == shape and w.dtype == np.dtype(dtype)
        assert np.all(w == value)
    assert init.zeros((2, 3)).dtype == np.float32 and init.ones(7).shape == (7,)
    assert init.constant((), 3.0).shape == ()


@pytest.mark.parametrize("value, error", [(float("nan"), ValueError), (float("inf"), ValueError), ("1", TypeError), (None, TypeError)])
def test_constant_rejects_bad_values(value, error):
    with pytest.raises(error, match="value"):
        init.constant((2, 2), value)


# --------------------------------------------------------------------------------------------
# get.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_INITIALIZERS)
def test_get_by_name(name):
    assert init.get(name) is getattr(init, name)


def test_get_returns_callables_unchanged():
    assert init.get(init.he_normal) is init.he_normal

    def custom(shape, *, seed=None, dtype=np.float32):
        return np.zeros(shape, dtype)

    assert init.get(custom) is custom


@pytest.mark.parametrize("name", ["nope", "HeNormal", "", "calculate_gain", "compute_fans", None, 3])
def test_get_unknown_name(name):
    with pytest.raises(ValueError if isinstance(name, str) else TypeError, match="name"):
        init.get(name)


# --------------------------------------------------------------------------------------------
# Bad inputs.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_INITIALIZERS)
@pytest.mark.parametrize("shape, error", [((3, -1), ValueError), (-2, ValueError), ((3, 2.0), TypeError),
                                          (2.5, TypeError), ((True, 2), TypeError), ("ab", TypeError)])
def test_bad_shape(name, shape, error):
    with pytest.raises(error, match="shape"):
        getattr(init, name)(shape, seed=0)


@pytest.mark.parametrize("name", ALL_INITIALIZERS)
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float16, np.complex128, bool])
def test_non_float_dtype(name, dtype):
    with pytest.raises(TypeError, match="dtype"):
        getattr(init, name)((4, 4), seed=0, dtype=dtype)


@pytest.mark.parametrize("name", RANDOM_INITIALIZERS)
@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**64, ValueError), (1.0, TypeError), ("3", TypeError), (True, TypeError)])
def test_bad_seed(name, seed, error):
    with pytest.raises(error, match="seed"):
        getattr(init, name)((4, 4), seed=seed)


@pytest.mark.parametrize("name", ["xavier_uniform", "xavier_normal", "glorot_uniform", "orthogonal", "identity"])
@pytest.mark.parametrize("gain, error", [(0.0, ValueError), (-1.0, ValueError), (float("nan"), ValueError),
                                         (float("inf"), ValueError), ("1", TypeError)])
def test_bad_gain(name, gain, error):
    with pytest.raises(error, match="gain"):
        getattr(init, name)((4, 4), gain=gain, seed=0)


@pytest.mark.parametrize("scale, error", [(0.0, ValueError), (-2.0, ValueError), (float("nan"), ValueError), ("2", TypeError)])
def test_bad_scale(scale, error):
    with pytest.raises(error, match="scale"):
        init.variance_scaling((4, 4), scale=scale, seed=0)


@pytest.mark.parametrize("call", [
    pytest.param(lambda: init.variance_scaling((4, 4), mode="fan_sum", seed=0), id="variance_scaling-fan_sum"),
    pytest.param(lambda: init.he_uniform((4, 4), mode="FAN_IN", seed=0), id="he_uniform-FAN_IN"),
    pytest.param(lambda: init.he_normal((4, 4), mode="in", seed=0), id="he_normal-in"),
])
def test_bad_mode(call):
    with pytest.raises(ValueError, match="mode"):
        call()


def test_mode_of_the_wrong_type():
    with pytest.raises(TypeError, match="mode"):
        init.variance_scaling((4, 4), mode=None, seed=0)


@pytest.mark.parametrize("distribution", ["gaussian", "Normal", "truncated", None])
def test_bad_distribution(distribution):
    with pytest.raises(ValueError if isinstance(distribution, str) else TypeError, match="distribution"):
        init.variance_scaling((4, 4), distribution=distribution, seed=0)


@pytest.mark.parametrize("name", ["he_uniform", "he_normal"])
def test_bad_nonlinearity(name):
    with pytest.raises(ValueError, match="nonlinearity"):
        getattr(init, name)((4, 4), nonlinearity="swish", seed=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"low": 0.1, "high": 0.1},
        {"low": 0.2, "high": -0.2},
        {"low": float("nan")},
    ],
)
def test_uniform_bad_bounds(kwargs):
    with pytest.raises(ValueError, match="low"):
        init.uniform((4, 4), seed=0, **kwargs)


@pytest.mark.parametrize("name", ["normal", "truncated_normal"])
@pytest.mark.parametrize("kwargs, error, match", [({"std": -0.1}, ValueError, "std"), ({"std": float("inf")}, ValueError, "std"),
                                                  ({"mean": float("nan")}, ValueError, "mean")])
def test_normal_bad_parameters(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(init, name)((4, 4), seed=0, **kwargs)


@pytest.mark.parametrize("name", ["he_uniform", "he_normal"])
@pytest.mark.parametrize("a, error", [(float("nan"), ValueError), ("0.1", TypeError)])
def test_bad_slope_is_reported_as_a(name, a, error):
    with pytest.raises(error, match="`a`"):
        getattr(init, name)((4, 4), a=a, seed=0)


@pytest.mark.parametrize("name", ["zeros", "ones", "constant", "identity"])
@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**64, ValueError), (0.5, TypeError)])
def test_deterministic_initializers_still_check_their_seed(name, seed, error):
    with pytest.raises(error, match="seed"):
        getattr(init, name)((3, 3), seed=seed)
