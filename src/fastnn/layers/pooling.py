"""Pooling layers over channels-last (batch, *spatial, channels) inputs, Keras's names and defaults,
on the C++ kernels ``fastnn.ops.max_pool`` / ``average_pool`` (one kernel for 1, 2 and 3 spatial axes)."""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from .. import ops
from .base import _SpatialLayer


def _pool(kind, x, window, settings, training, y=None, argmax=None):
    """(y, argmax) of max or average (``kind``) pooling of x over ``window``; the arg-max only for
    max pooling in training (what its backward needs: inference skips it). Into y and argmax when given."""
    if kind == "average":
        return ops.average_pool(x, window, **settings, out=y), None
    if training:
        return ops.max_pool(x, window, **settings, out=None if y is None else (y, argmax))
    return ops.max_pool(x, window, **settings, return_argmax=False, out=y), None


def _pool_backward(kind, dy, x, argmax, window, settings, out=None):
    """dx from _pool's output gradient; an arg-max an inference forward skipped is found again."""
    if kind == "average":
        return ops.average_pool_backward(dy, x.shape, window, **settings, out=out)
    if argmax is None:
        _, argmax = ops.max_pool(x, window, **settings)
    return ops.max_pool_backward(dy, argmax, x.shape, window, **settings, out=out)


class _Pooling(_SpatialLayer):
    """Max or average pooling (``kind``) with a window of ``pool_size``, moved by ``strides``.

    Max pooling sends each output's gradient to its window's arg-max (ties to the first); average
    pooling with "same" padding averages over the valid (non-padded) elements only, as Keras/TensorFlow.

    Args:
        pool_size: an int or one per spatial axis (Keras's default: 2 on each).
        strides: an int or one per spatial axis; None (default) means pool_size.
        padding: "valid" (no padding: out = (in - pool) // stride + 1) or "same" (out = ceil(in / stride)).
        dtype, seed, name: see :class:`Layer`.
    """

    kind = None

    def __init__(self, pool_size=2, *, strides=None, padding="valid", dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.pool_size, self.strides, self.padding = ops._pool_arguments(self.rank, pool_size, strides, padding)
        self._cache = None

    def build(self, input_shape):
        super().build(input_shape)
        self.output_shape(input_shape)  # a "valid" window larger than the input fails here, at build

    def output_shape(self, input_shape):
        spatial = ops.pool_output_shape(input_shape[:-1], self.pool_size, self.strides, self.padding)
        return (*spatial, input_shape[-1])

    def forward(self, x, training=False):
        """x: (batch, *spatial, channels) -> (batch, *out_spatial, channels)."""
        x = self._prepare_input(x)
        settings = dict(strides=self.strides, padding=self.padding)
        # Inside fit the outputs go to kept buffers; outputs a caller may keep (inference) are fresh.
        shape = (x.shape[0], *self.output_shape(x.shape[1:]))
        y = self._buffer("y", shape) if training else None
        argmax = self._buffer("argmax", shape, np.int32) if training and self.kind == "max" else None
        y, argmax = _pool(self.kind, x, self.pool_size, settings, training, y, argmax)
        self._cache = (x, argmax)
        return y

    def backward(self, dy):
        x, argmax = self._cache
        settings = dict(strides=self.strides, padding=self.padding)
        return _pool_backward(self.kind, dy, x, argmax, self.pool_size, settings, out=self._buffer("dx", x.shape))

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class _GlobalPooling(_SpatialLayer):
    """The max or average (``kind``) of each channel over all spatial positions.

    Args:
        keepdims: keep the spatial axes, with size 1 (Keras's option); False by default.
        dtype, seed, name: see :class:`Layer`.
    """

    kind = None

    def __init__(self, *, keepdims=False, dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.keepdims = check.boolean(keepdims, "keepdims")
        self._cache = None

    def output_shape(self, input_shape):
        return (*(1,) * self.rank, input_shape[-1]) if self.keepdims else (input_shape[-1],)

    def forward(self, x, training=False):
        """x: (batch, *spatial, channels) -> (batch, channels), or (batch, 1, ..., 1, channels) with keepdims."""
        x = self._prepare_input(x)
        y, argmax = _pool(self.kind, x, x.shape[1:-1], {}, training)
        self._cache = (x, argmax)
        return y if self.keepdims else y.reshape(len(x), x.shape[-1])

    def backward(self, dy):
        x, argmax = self._cache
        dy = dy.reshape(x.shape[0], *(1,) * self.rank, x.shape[-1])
        return _pool_backward(self.kind, dy, x, argmax, x.shape[1:-1], {})

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class MaxPooling1D(_Pooling):
    """Max pooling over (steps,): (batch, steps, channels) -> (batch, out_steps, channels)."""

    rank, kind = 1, "max"

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(pool_size, **kwargs)


class MaxPooling2D(_Pooling):
    """Max pooling over (height, width): (batch, height, width, channels) -> (batch, out_h, out_w, channels)."""

    rank, kind = 2, "max"

    def __init__(self, pool_size=(2, 2), **kwargs):
        super().__init__(pool_size, **kwargs)


class MaxPooling3D(_Pooling):
    """Max pooling over (depth, height, width) of (batch, depth, height, width, channels)."""

    rank, kind = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), **kwargs):
        super().__init__(pool_size, **kwargs)


class AveragePooling1D(_Pooling):
    """Average pooling over (steps,): (batch, steps, channels) -> (batch, out_steps, channels)."""

    rank, kind = 1, "average"

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(pool_size, **kwargs)


class AveragePooling2D(_Pooling):
    """Average pooling over (height, width): (batch, height, width, channels) -> (batch, out_h, out_w, channels)."""

    rank, kind = 2, "average"

    def __init__(self, pool_size=(2, 2), **kwargs):
        super().__init__(pool_size, **kwargs)


class AveragePooling3D(_Pooling):
    """Average pooling over (depth, height, width) of (batch, depth, height, width, channels)."""

    rank, kind = 3, "average"

    def __init__(self, pool_size=(2, 2, 2), **kwargs):
        super().__init__(pool_size, **kwargs)


class GlobalMaxPooling1D(_GlobalPooling):
    """The max of each channel over the steps: (batch, steps, channels) -> (batch, channels)."""

    rank, kind = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    """The max of each channel over height and width: (batch, height, width, channels) -> (batch, channels)."""

    rank, kind = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    """The max of each channel over depth, height and width: (batch, d, h, w, channels) -> (batch, channels)."""

    rank, kind = 3, "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean of each channel over the steps: (batch, steps, channels) -> (batch, channels)."""

    rank, kind = 1, "average"


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean of each channel over height and width: (batch, height, width, channels) -> (batch, channels)."""

    rank, kind = 2, "average"


class GlobalAveragePooling3D(_GlobalPooling):
    """The mean of each channel over depth, height and width: (batch, d, h, w, channels) -> (batch, channels)."""

    rank, kind = 3, "average"


POOLING_LAYERS = (MaxPooling1D, MaxPooling2D, MaxPooling3D, AveragePooling1D, AveragePooling2D, AveragePooling3D,
                  GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, GlobalAveragePooling1D,
                  GlobalAveragePooling2D, GlobalAveragePooling3D)
