"""Activation functions as layers: ReLU, LeakyReLU, Sigmoid, Tanh, Softmax.

When one (ReLU, LeakyReLU, Sigmoid, Tanh) directly follows a Dense layer in a Sequential model (or
in a Residual branch), the Dense layer applies it in its fused C++ epilogue, and a
BatchNormalization in its normalization pass; this layer then passes values through.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from ..losses import sigmoid, softmax
from .base import Layer


class Activation(Layer):
    """Base of the activation layers: elementwise, no parameters.

    ``kernel`` names the activation for ``fastnn.ops.linear`` (None when it has no fused form).
    """

    kernel = None

    def forward(self, x, training=False):
        x = self._prepare_input(x)
        if self.fused_into is not None:
            return x
        self._y = self.apply(x)
        return self._y

    def backward(self, dy):
        if self.fused_into is not None:
            return dy
        return self.derivative(dy, self._y)

    def apply(self, x):
        raise NotImplementedError

    def derivative(self, dy, y):
        raise NotImplementedError

    @property
    def alpha(self):
        return 0.0


class ReLU(Activation):
    """``max(x, 0)``."""

    kernel = "relu"

    def apply(self, x):
        return np.maximum(x, 0)

    def derivative(self, dy, y):
        return dy * (y > 0)


class LeakyReLU(Activation):
    """``x`` for x >= 0, ``alpha * x`` below (alpha >= 0)."""

    kernel = "leaky_relu"

    def __init__(self, alpha=0.01, **kwargs):
        super().__init__(**kwargs)
        self._alpha = check.real(alpha, "alpha", minimum=0)

    @property
    def alpha(self):
        return self._alpha

    def apply(self, x):
        return np.where(x < 0, self._alpha * x, x).astype(x.dtype, copy=False)

    def derivative(self, dy, y):
        return dy * np.where(y > 0, 1, self._alpha).astype(dy.dtype, copy=False)

    def get_config(self):
        return {**super().get_config(), "alpha": self._alpha}


class Sigmoid(Activation):
    """``1 / (1 + exp(-x))``."""

    kernel = "sigmoid"

    def apply(self, x):
        return sigmoid(x)

    def derivative(self, dy, y):
        return dy * y * (1 - y)


class Tanh(Activation):
    """``tanh(x)``."""

    kernel = "tanh"

    def apply(self, x):
        return np.tanh(x)

    def derivative(self, dy, y):
        return dy * (1 - y * y)


class Softmax(Activation):
    """``exp(x) / Σ exp(x)`` over the last axis."""

    def apply(self, x):
        return softmax(x)

    def derivative(self, dy, y):
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


BY_NAME = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh, "softmax": Softmax}


def activation_after(layers, index):
    """(kernel, alpha) of the activation layer that follows ``layers[index]``, looking past
    BatchNormalization (Conv-BN-ReLU is the usual block), or None: what ``kernel_init="auto"``
    of a layer without its own activation goes by."""
    from .normalization import BatchNormalization

    for following in layers[index + 1:]:
        if isinstance(following, BatchNormalization):
            continue
        if isinstance(following, Activation) and following.kernel:
            return following.kernel, following.alpha
        return None
    return None
