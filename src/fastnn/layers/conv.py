"""Convolution layers (channels last), on the C++ kernels ``fastnn.ops.conv`` / ``conv_backward``."""

from __future__ import annotations

import numpy as np

from .. import _core
from .. import _spatial
from .. import _validation as check
from .. import init as _init
from .. import ops
from .. import regularizers as _regularizers
from .._spatial import as_5d
from .base import _SpatialLayer
from .dense import (_KERNEL_ACTIVATIONS, LEAKY_RELU_SLOPE, Dense, _add_penalty_gradients, _initializer_spec,
                    _saveable)

_ACTIVATIONS = (None, "linear", "identity", *_KERNEL_ACTIVATIONS)


class _Conv(_SpatialLayer):
    """``y = act(conv(x, W) + b)`` over ``rank`` spatial dimensions: see :func:`fastnn.ops.conv`.

    Args:
        filters: output channels.
        kernel_size, strides, dilation_rate: an int or one int per spatial dimension.
        padding: "valid" or "same" (Keras's rules).
        activation: None (identity), "relu", "leaky_relu" (slope 0.01), "sigmoid" or "tanh",
            applied in the GEMM's epilogue.
        kernel_init: as for :class:`Dense`; "auto" is He (normal) for the ReLU family and Xavier
            (uniform) otherwise, with fan_in = in_channels x kernel area (``init.compute_fans``).
        bias_init, kernel_regularizer, bias_regularizer, dtype, seed, name: as for :class:`Dense`.

    Shapes: x (batch, *spatial, in_channels) -> y (batch, *out_spatial, filters); W is
    (*kernel_size, in_channels, filters).
    """

    rank = 0

    def __init__(self, filters, kernel_size, *, strides=1, padding="valid", dilation_rate=1, activation=None,
                 kernel_init="auto", bias_init="zeros", kernel_regularizer=None, bias_regularizer=None, dtype=None,
                 seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.filters = check.integer(filters, "filters", minimum=1)
        self.kernel_size = _spatial.tuple_argument(kernel_size, self.rank, "kernel_size")
        self.strides = _spatial.tuple_argument(strides, self.rank, "strides")
        self.padding = _spatial.padding_name(padding)
        self.dilation_rate = _spatial.tuple_argument(dilation_rate, self.rank, "dilation_rate")
        activation = check.choice(activation, "activation", _ACTIVATIONS) if activation is not None else None
        self.activation = None if activation in ("linear", "identity") else activation
        self.kernel_init = _initializer_spec(kernel_init, "kernel_init", allow_auto=True)
        self.bias_init = _initializer_spec(bias_init, "bias_init")
        self.kernel_regularizer = _regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = _regularizers.get(bias_regularizer, "bias_regularizer")
        self.activation_hint = None  # (kernel name, slope) of a following activation layer, for "auto"
        self.input_grad = True       # False when nothing upstream needs backward's dx (a first layer)
        self._cache = None
        self._geometry = None        # (input shape, output shape, the kernels' settings) of the last batch

    def build(self, input_shape):
        self._check_rank(input_shape)
        self._windows(input_shape)  # a kernel larger than the input fails here, not at the first call
        super().build(input_shape)
        W = self._initial((*self.kernel_size, int(input_shape[-1]), self.filters), self._kernel_initializer(), 0)
        b = self._initial((self.filters,), _init.get(self.bias_init), 1)
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    def output_shape(self, input_shape):
        return (*self._windows(input_shape).out, self.filters)

    def forward(self, x, training=False):
        x = self._prepare_input(x)
        kernel, alpha = (self.activation or "identity"), LEAKY_RELU_SLOPE
        if training:  # the hot path of fit, as Dense's: the layer's own valid arrays straight to the kernel
            x = np.ascontiguousarray(x)
            out_shape, settings = self._kernel_geometry(x.shape)
            y = self._buffer("y", out_shape)
            _core.conv(as_5d(x), as_5d(self.params["W"], kernel=True), self.params["b"], as_5d(y), *settings, kernel, alpha)
        else:
            y = ops.conv(x, self.params["W"], self.params["b"], activation=kernel, alpha=alpha, **self._settings())
        self._cache = (x, y, kernel, alpha)
        return y

    def backward(self, dy):
        x, y, kernel, alpha = self._cache
        dy = self._output_gradient(dy, y.shape)
        dx = self._buffer("dx", x.shape) if self.input_grad else None  # kept across steps inside fit, as Dense's
        dW, db = self._buffer("dW", self.params["W"].shape), self._buffer("db", self.params["b"].shape)
        _, settings = self._kernel_geometry(x.shape)
        # As in forward: the layer's own arrays go straight to the kernel (it checks shapes and dtypes).
        _core.conv_backward(as_5d(dy), as_5d(x), as_5d(self.params["W"], kernel=True), as_5d(y),
                            None if dx is None else as_5d(dx), as_5d(dW, kernel=True), db, *settings, kernel, alpha)
        self.grads["W"], self.grads["b"] = dW, db
        if not self.penalties_in_optimizer:
            _add_penalty_gradients(self)
        return dx

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "dilation_rate": list(self.dilation_rate),
                "activation": self.activation, "kernel_init": _saveable(self.kernel_init, "kernel_init"),
                "bias_init": _saveable(self.bias_init, "bias_init"),
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer)}

    # Shared with Dense: the "auto" initializer choice, seeded initial values, the penalties.
    _kernel_initializer = Dense._kernel_initializer
    _initial = Dense._initial
    regularization_penalty = Dense.regularization_penalty
    regularizers = Dense.regularizers

    def _settings(self):
        return {"strides": self.strides, "padding": self.padding, "dilation": self.dilation_rate}

    def _kernel_geometry(self, input_shape):
        """(output shape, the kernels' settings) for a batch of ``input_shape``, worked out once per
        shape: the validation and window arithmetic of ``ops.conv`` took a quarter of a small
        layer's forward call (16 -> 16 channels on a (128, 8, 8) batch)."""
        if self._geometry is None or self._geometry[0] != input_shape:
            windows = self._windows(input_shape[1:])
            settings = _spatial.kernel_settings(windows, self.strides, self.dilation_rate)
            self._geometry = (input_shape, (input_shape[0], *windows.out, self.filters), settings)
        return self._geometry[1:]

    def _windows(self, input_shape):
        return _spatial.windows(tuple(input_shape[:-1]), self.kernel_size, self.strides, self.dilation_rate,
                                self.padding)


class Conv1D(_Conv):
    __doc__ = _Conv.__doc__.replace("over ``rank`` spatial dimensions", "over 1 spatial dimension (steps)")
    rank = 1


class Conv2D(_Conv):
    __doc__ = _Conv.__doc__.replace("over ``rank`` spatial dimensions", "over 2 spatial dimensions (height, width)")
    rank = 2


class Conv3D(_Conv):
    __doc__ = _Conv.__doc__.replace("over ``rank`` spatial dimensions", "over 3 spatial dimensions (depth, height, width)")
    rank = 3
