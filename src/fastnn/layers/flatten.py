"""Flattening multi-dimensional samples for the dense layers."""

from __future__ import annotations

import numpy as np

from .base import Layer


class Flatten(Layer):
    """Reshapes (batch, d1, d2, ...) to (batch, d1 * d2 * ...)."""

    def forward(self, x, training=False):
        x = self._prepare_input(x)
        return x.reshape(len(x), -1)

    def backward(self, dy):
        return dy.reshape((len(dy), *self.input_shape))

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape, dtype=np.int64)),)
