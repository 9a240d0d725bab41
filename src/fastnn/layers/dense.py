"""The fully-connected layer, on the fused C++ kernel ``fastnn.ops.linear``."""

from __future__ import annotations

import functools

import numpy as np

from .. import _core
from .. import _validation as check
from .. import init as _init
from .. import ops
from .. import random as _random
from .. import regularizers as _regularizers
from ..losses import softmax
from .base import Layer

_KERNEL_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")  # fused into the GEMM's epilogue
_ACTIVATIONS = (None, "linear", "identity", *_KERNEL_ACTIVATIONS, "softmax")
LEAKY_RELU_SLOPE = 0.01


class Dense(Layer):
    """``y = act(x @ W + b)``, W of shape (in_features, units), b of shape (units,).

    Forward and backward run ``fastnn.ops.linear`` / ``linear_backward``: the bias, the
    activation and — inside a Sequential model — a directly following activation layer and
    inverted Dropout are applied in the GEMM's epilogue, in one pass.

    Args:
        units: output features.
        activation: None (identity), "relu", "leaky_relu" (slope 0.01), "sigmoid", "tanh" or
            "softmax".
        input_dim: in_features, when known up front (else taken from the first input).
        kernel_init: a name from :mod:`fastnn.init`, a callable ``f(shape, seed=...)``, or
            "auto": He (normal) for the ReLU family, Xavier (uniform) otherwise — judged on this
            layer's activation or, when it has none, on a directly following activation layer.
        bias_init: as kernel_init; "zeros" by default.
        kernel_regularizer, bias_regularizer: a :mod:`fastnn.regularizers` penalty, its name, or None.
        dtype, seed, name: see :class:`Layer`.

    Shapes: x (batch, in_features) -> y (batch, units).
    """

    def __init__(self, units, *, activation=None, input_dim=None, kernel_init="auto", bias_init="zeros",
                 kernel_regularizer=None, bias_regularizer=None, dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.units = check.integer(units, "units", minimum=1)
        activation = check.choice(activation, "activation", _ACTIVATIONS) if activation is not None else None
        self.activation = None if activation in ("linear", "identity") else activation
        self.input_dim = None if input_dim is None else check.integer(input_dim, "input_dim", minimum=1)
        self.kernel_init = _initializer_spec(kernel_init, "kernel_init", allow_auto=True)
        self.bias_init = _initializer_spec(bias_init, "bias_init")
        self.kernel_regularizer = _regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = _regularizers.get(bias_regularizer, "bias_regularizer")
        # What the epilogue also does, set by Sequential when it fuses the following layers.
        self.fused_activation = None  # an activation layer computed here
        self.fused_dropout = None     # an inverted Dropout layer computed here
        self.activation_hint = None   # (kernel name, slope) of a following activation, for "auto"
        self.input_grad = True        # False when nothing upstream needs backward's dx (a first layer)
        self._cache = None

    def build(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"{self._label()} needs 2-D inputs (batch, features); received per-sample shape "
                             f"{tuple(input_shape)}. Put a Flatten layer before it.")
        if self.input_dim is not None and input_shape[0] != self.input_dim:
            raise ValueError(f"{self._label()} expects inputs of shape (batch, {self.input_dim}) (its input_dim). "
                             f"Received shape (batch, {input_shape[0]})")
        super().build(input_shape)
        fan_in = int(input_shape[0])
        W = self._initial((fan_in, self.units), self._kernel_initializer(), 0)
        b = self._initial((self.units,), _init.get(self.bias_init), 1)
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    def output_shape(self, input_shape):
        return (self.units,)

    @property
    def output_activation(self):
        """"sigmoid" or "softmax" when the layer ends in one (a loss may then take the logits)."""
        return self.activation if self.activation in ("sigmoid", "softmax") else None

    def forward(self, x, training=False, *, logits=False):
        """y = act(x @ W + b); with ``logits=True`` a sigmoid/softmax output activation is skipped."""
        x = self._prepare_input(x)
        kernel, alpha = self._epilogue_activation(logits)
        rate, seed, offset = 0.0, 0, 0
        if training and self.fused_dropout is not None:
            rate, seed, offset = self.fused_dropout.next_draw(x.shape[0] * self.units)
        if training:  # the hot path of fit: the layer's own arrays, already valid, straight to the kernel
            y = self._buffer("y", (x.shape[0], self.units))
            _core.linear(x, self.params["W"], self.params["b"], y, kernel, alpha, rate, seed, offset)
        else:
            y = ops.linear(x, self.params["W"], self.params["b"], activation=kernel, alpha=alpha)
        output = softmax(y) if self.activation == "softmax" and not logits else y
        self._cache = (x, y, output, kernel, alpha, rate, seed, offset)
        return output

    def backward(self, dy):
        """Fills grads (with the penalties' gradients) and returns dx (None if ``input_grad`` is False)."""
        x, y, output, kernel, alpha, rate, seed, offset = self._cache
        dy = self._output_gradient(dy, y.shape)
        if output is not y:  # through the softmax first
            dy = output * (dy - np.sum(dy * output, axis=-1, keepdims=True))
        dx = self._buffer("dx", x.shape) if self.input_grad else None
        dW, db = self._buffer("dW", self.params["W"].shape), self._buffer("db", self.params["b"].shape)
        # As in forward: the layer's own arrays go straight to the kernel (it checks shapes and dtypes).
        _core.linear_backward(dy, x, self.params["W"], y, dx, dW, db, kernel, alpha, rate, seed, offset)
        self.grads["W"], self.grads["b"] = dW, db
        if not self.penalties_in_optimizer:
            _add_penalty_gradients(self)
        return dx

    def regularizers(self):
        pairs = (("W", self.kernel_regularizer), ("b", self.bias_regularizer))
        return {name: regularizer for name, regularizer in pairs if regularizer is not None}

    def regularization_penalty(self):
        penalty = 0.0
        if self.kernel_regularizer is not None and self.built:
            penalty += self.kernel_regularizer(self.params["W"])
        if self.bias_regularizer is not None and self.built:
            penalty += self.bias_regularizer(self.params["b"])
        return penalty

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation, "input_dim": self.input_dim,
                "kernel_init": _saveable(self.kernel_init, "kernel_init"), "bias_init": _saveable(self.bias_init, "bias_init"),
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer)}

    # -- internals ------------------------------------------------------------------------------

    def _epilogue_activation(self, logits):
        if self.fused_activation is not None:
            return self.fused_activation.kernel, self.fused_activation.alpha
        if self.activation in _KERNEL_ACTIVATIONS and not (logits and self.activation == "sigmoid"):
            return self.activation, LEAKY_RELU_SLOPE
        return "identity", LEAKY_RELU_SLOPE

    def _kernel_initializer(self):
        if self.kernel_init != "auto":
            return _init.get(self.kernel_init)
        kernel, slope = (self.activation, LEAKY_RELU_SLOPE) if self.activation else (self.activation_hint or (None, 0.0))
        if kernel == "relu":
            return _init.he_normal
        if kernel == "leaky_relu":
            return functools.partial(_init.he_normal, a=slope)
        return _init.xavier_uniform

    def _initial(self, shape, initializer, index):
        seed = _random.derive_seed(self.seed, index)
        try:
            value = initializer(shape, seed=seed, dtype=self.dtype)
        except TypeError:  # a user's f(shape, seed=...) without dtype
            value = initializer(shape, seed=seed)
        value = np.asarray(value)
        if value.shape != shape:
            raise ValueError(f"The initializer of {self._label()} returned shape {value.shape}; expected {shape}")
        return np.ascontiguousarray(value, dtype=self.dtype)


def _initializer_spec(value, name, allow_auto=False):
    """A name from fastnn.init, a callable, or "auto" where allowed; checked now, resolved at build."""
    if callable(value) or (allow_auto and value == "auto"):
        return value
    try:
        _init.get(value)
    except (TypeError, ValueError):
        options = '"auto", ' if allow_auto else ""
        raise ValueError(f"Argument `{name}` must be {options}a name from fastnn.init or a callable. "
                         f"Received: {name}={value!r}") from None
    return value


def _saveable(spec, name):
    if callable(spec):
        raise ValueError(f"A model with a callable `{name}` cannot be saved: pass the initializer's name instead")
    return spec


def _add_penalty_gradients(layer):
    """grads += each regularizer's gradient, in place (a layer on its own, or an optimizer that
    is not told about the regularizers)."""
    for name, regularizer in layer.regularizers().items():
        layer.grads[name] += regularizer.gradient(layer.params[name])
