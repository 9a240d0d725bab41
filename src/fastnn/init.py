"""Weight initializers, drawn in parallel from fastnn's counter-based generator.

Every initializer has the signature ``name(shape, *, seed=None, dtype=np.float32, **params)``
and returns a new array. ``seed`` is an int in [0, 2**64); the same seed gives bitwise the
same weights on any machine and thread count; ``None`` draws a fresh seed from the OS.

The layout rule (used by :func:`compute_fans` and every variance-scaling initializer):
dense weights are ``(fan_in, fan_out)``; convolution kernels are channels-last,
``(*kernel_size, in_channels, out_channels)``. With ``receptive_field = prod(shape[:-2])``,
``fan_in = shape[-2] * receptive_field`` and ``fan_out = shape[-1] * receptive_field``; a 1-D
shape has ``fan_in = fan_out = shape[0]``, a 0-D shape ``fan_in = fan_out = 1``.

Variance-scaling formulas (``fan`` picked by ``mode``):

==============  ===============================  ======================================
initializer     normal: σ²                       uniform: bound ``a`` of U[-a, a]
==============  ===============================  ======================================
LeCun           1 / fan_in                       √(3 / fan_in)
Xavier/Glorot   gain² · 2 / (fan_in + fan_out)   gain · √(6 / (fan_in + fan_out))
He/Kaiming      gain² / fan, gain² = 2/(1 + a²)  gain · √(3 / fan)
==============  ===============================  ======================================
"""

from __future__ import annotations

import math

import numpy as np

from . import _validation as check
from . import random as _random

__all__ = [
    "zeros", "ones", "constant", "uniform", "normal", "truncated_normal",
    "variance_scaling", "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform", "lecun_normal",
    "orthogonal", "identity", "calculate_gain", "compute_fans", "get", "NAMES",
]

# The standard deviation of a unit normal truncated to [-2, 2]: dividing by it makes a
# truncated normal keep the variance asked for.
TRUNCATED_NORMAL_STD = 0.87962566103423978

_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("normal", "untruncated_normal", "truncated_normal", "uniform")


def compute_fans(shape):
    """Returns ``(fan_in, fan_out)`` for a weight shape, by the layout rule in the module docstring.

    Example:
        >>> compute_fans((784, 512))
        (784, 512)
        >>> compute_fans((3, 3, 16, 32))   # a 3x3 convolution, 16 -> 32 channels
        (144, 288)
    """
    shape = check.shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table).

    ==================================  ===========================
    nonlinearity                        gain
    ==================================  ===========================
    linear, conv*, sigmoid, identity    1
    tanh                                5/3
    relu                                √2
    leaky_relu                          √(2 / (1 + a²)), a = param (default 0.01)
    selu                                3/4
    ==================================  ===========================
    """
    ones = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
            "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    check.choice(nonlinearity, "nonlinearity", ones + ("tanh", "relu", "leaky_relu", "selu"))
    if nonlinearity in ones:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 0.75
    slope = 0.01 if param is None else check.real(param, "param")
    return math.sqrt(2.0 / (1.0 + slope**2))


def zeros(shape, *, seed=None, dtype=np.float32):
    """All zeros. Fine for biases; for weights it never breaks the symmetry between units."""
    _unused_seed(seed)
    return np.zeros(check.shape(shape), check.float_dtype(dtype))


def ones(shape, *, seed=None, dtype=np.float32):
    """All ones."""
    _unused_seed(seed)
    return np.ones(check.shape(shape), check.float_dtype(dtype))


def constant(shape, value=0.0, *, seed=None, dtype=np.float32):
    """Every element equal to ``value``."""
    _unused_seed(seed)
    return np.full(check.shape(shape), check.real(value, "value"), check.float_dtype(dtype))


def uniform(shape, *, low=-0.05, high=0.05, seed=None, dtype=np.float32):
    """U[low, high): "small random" initialization (``high`` is never returned)."""
    return _random.uniform(shape, low, high, seed=_seed(seed), dtype=dtype)


def normal(shape, *, mean=0.0, std=0.05, seed=None, dtype=np.float32):
    """N(mean, std²): "small random" initialization."""
    return _random.normal(shape, mean, std, seed=_seed(seed), dtype=dtype)


def truncated_normal(shape, *, mean=0.0, std=0.05, seed=None, dtype=np.float32):
    """N(mean, std²) with values beyond two standard deviations redrawn (as Keras)."""
    return _random.truncated_normal(shape, mean, std, seed=_seed(seed), dtype=dtype)


def variance_scaling(shape, *, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, dtype=np.float32):
    """The general initializer that LeCun, Xavier and He specialise (Keras's VarianceScaling).

    With ``n`` = fan_in, fan_out or (fan_in + fan_out) / 2 by ``mode`` (at least 1):

    - ``"normal"`` (alias ``"untruncated_normal"``): N(0, σ²) with σ² = scale / n;
    - ``"truncated_normal"``: a normal truncated to ±2σ₀, with σ₀ = √(scale / n) / 0.8796
      so that the values still have variance scale / n;
    - ``"uniform"``: U[-a, a) with a = √(3 · scale / n).

    Args:
        shape: the weight shape (layout rule in the module docstring).
        scale: the variance multiplier (> 0), e.g. gain².
        mode: "fan_in", "fan_out" or "fan_avg".
        distribution: "normal", "truncated_normal" or "uniform".
    """
    shape = check.shape(shape)
    scale = check.real(scale, "scale", 0, exclusive=True)
    check.choice(mode, "mode", _MODES)
    check.choice(distribution, "distribution", _DISTRIBUTIONS)
    fan_in, fan_out = compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    variance = scale / max(1.0, n)
    seed = _seed(seed)
    if distribution == "uniform":
        bound = math.sqrt(3.0 * variance)
        return _random.uniform(shape, -bound, bound, seed=seed, dtype=dtype)
    if distribution == "truncated_normal":
        return _random.truncated_normal(shape, 0.0, math.sqrt(variance) / TRUNCATED_NORMAL_STD, seed=seed, dtype=dtype)
    return _random.normal(shape, 0.0, math.sqrt(variance), seed=seed, dtype=dtype)


def xavier_uniform(shape, *, gain=1.0, seed=None, dtype=np.float32):
    """Xavier/Glorot uniform: U[-a, a), a = gain · √(6 / (fan_in + fan_out)).

    For sigmoid and tanh units. X. Glorot and Y. Bengio, "Understanding the difficulty of
    training deep feedforward neural networks", AISTATS 2010.
    """
    return variance_scaling(shape, scale=_gain(gain) ** 2, mode="fan_avg", distribution="uniform", seed=seed, dtype=dtype)


def xavier_normal(shape, *, gain=1.0, seed=None, dtype=np.float32):
    """Xavier/Glorot normal: N(0, σ²), σ² = gain² · 2 / (fan_in + fan_out). Glorot and Bengio, AISTATS 2010."""
    return variance_scaling(shape, scale=_gain(gain) ** 2, mode="fan_avg", distribution="normal", seed=seed, dtype=dtype)


def he_uniform(shape, *, a=0.0, mode="fan_in", nonlinearity="leaky_relu", seed=None, dtype=np.float32):
    """He/Kaiming uniform: U[-b, b), b = gain · √(3 / fan); the default gives b = √(6 / fan_in).

    ``gain = calculate_gain(nonlinearity, a)``: √2 for ReLU, √(2 / (1 + a²)) for a leaky ReLU
    of slope ``a`` (PyTorch's arguments). K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into
    rectifiers", ICCV 2015.
    """
    gain = calculate_gain(nonlinearity, check.real(a, "a"))
    return variance_scaling(shape, scale=gain**2, mode=mode, distribution="uniform", seed=seed, dtype=dtype)


def he_normal(shape, *, a=0.0, mode="fan_in", nonlinearity="leaky_relu", seed=None, dtype=np.float32):
    """He/Kaiming normal: N(0, σ²), σ² = 2 / fan (2 / ((1 + a²) · fan) for a leaky ReLU of slope a).

    For ReLU units. He et al., ICCV 2015.
    """
    gain = calculate_gain(nonlinearity, check.real(a, "a"))
    return variance_scaling(shape, scale=gain**2, mode=mode, distribution="normal", seed=seed, dtype=dtype)


def lecun_uniform(shape, *, seed=None, dtype=np.float32):
    """LeCun uniform: U[-a, a), a = √(3 / fan_in). Y. LeCun et al., "Efficient BackProp", 1998."""
    return variance_scaling(shape, scale=1.0, mode="fan_in", distribution="uniform", seed=seed, dtype=dtype)


def lecun_normal(shape, *, seed=None, dtype=np.float32):
    """LeCun normal: N(0, σ²), σ² = 1 / fan_in; keeps the variance of linear and SELU units.

    Y. LeCun et al., "Efficient BackProp", 1998; G. Klambauer et al., "Self-normalizing neural
    networks", NeurIPS 2017.
    """
    return variance_scaling(shape, scale=1.0, mode="fan_in", distribution="normal", seed=seed, dtype=dtype)


def orthogonal(shape, *, gain=1.0, seed=None, dtype=np.float32):
    """A (semi-)orthogonal matrix times ``gain``: orthonormal rows or columns, whichever are fewer.

    The shape is viewed as a matrix ``(prod(shape[:-1]), shape[-1])``; a normal matrix drawn from
    fastnn's generator is QR-factorised (by NumPy's LAPACK, in float64) and the signs fixed so
    the result is uniformly distributed. A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact
    solutions to the nonlinear dynamics of learning in deep linear neural networks", ICLR 2014.
    """
    shape = check.shape(shape)
    if len(shape) < 2:
        raise ValueError(f"orthogonal needs a shape of at least 2 dimensions. Received: shape={shape}")
    gain = _gain(gain)
    dtype = check.float_dtype(dtype)
    rows, cols = math.prod(shape[:-1]), shape[-1]
    if rows == 0 or cols == 0:
        return np.zeros(shape, dtype)
    flat = _random.normal((max(rows, cols), min(rows, cols)), seed=_seed(seed), dtype=np.float64)
    q, r = np.linalg.qr(flat)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)  # unique factorisation: a uniform (Haar) draw
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(dtype)


def identity(shape, *, gain=1.0, seed=None, dtype=np.float32):
    """``gain`` times the identity matrix (2-D shapes; non-square ones get ones on the diagonal)."""
    shape = check.shape(shape)
    _unused_seed(seed)
    if len(shape) != 2:
        raise ValueError(f"identity needs a 2-D shape. Received: shape={shape}")
    return (_gain(gain) * np.eye(*shape)).astype(check.float_dtype(dtype))


glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal

_BY_NAME = {name: globals()[name] for name in __all__ if name not in ("calculate_gain", "compute_fans", "get", "NAMES")}

NAMES = tuple(sorted(_BY_NAME))  # what get() accepts


def get(name):
    """The initializer called ``name`` (e.g. "he_normal"); a callable is returned unchanged."""
    if callable(name):
        return name
    return _BY_NAME[check.choice(name, "name", tuple(_BY_NAME))]


def _seed(seed):
    return _random.new_seed() if seed is None else check.seed(seed)


def _unused_seed(seed):
    """Deterministic initializers take `seed` for a uniform signature; a bad one is still an error."""
    if seed is not None:
        check.seed(seed)


def _gain(gain):
    return check.real(gain, "gain", 0, exclusive=True)
