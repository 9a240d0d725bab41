"""Dropout variants for convolutional stacks: spatial dropout (whole channels) and Gaussian dropout
(multiplicative noise). Both are active in training only and the identity at inference."""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as check
from .. import ops
from .. import random as _random
from .base import Layer, _SpatialLayer

_STEP_DRAWS = 2**32  # stream positions reserved per training step (offset = step * 2**32, as Dropout)


class _StepStream:
    """Training step counter of a layer that draws from its own stream once per step."""

    def _next_offset(self, size):
        if size > _STEP_DRAWS:
            raise ValueError(f"{self._label()}: a batch needing {size} draws exceeds the 2**32 draws of one step")
        offset = self.step * _STEP_DRAWS
        self.step += 1
        return offset

    def get_state(self):
        return {"step": self.step}

    def set_state(self, state):
        self.step = int(state.get("step", 0))


class _SpatialDropout(_StepStream, _SpatialLayer):
    """Drops whole channels: each channel of each sample is zeroed at every spatial position with
    probability ``rate``, the kept ones scaled by ``1 / (1 - rate)`` (inverted dropout).

    Adjacent positions of a feature map are strongly correlated, so dropping single activations
    barely regularizes a convolutional layer; dropping entire feature maps does (Tompson et al.,
    "Efficient Object Localization Using Convolutional Networks", CVPR 2015).

    The mask of training step ``s`` is ``ops.dropout_mask((batch, channels), rate, seed=self.seed,
    offset=s * 2**32)``: Dropout's stream and rule, one draw per sample and channel. It is
    regenerated, not stored, for the backward pass.

    Args:
        rate: probability of dropping a channel, in [0, 1).
        dtype, seed, name: see :class:`Layer`.
    """

    def __init__(self, rate, *, dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.rate = check.rate(rate)
        self.step = 0
        self._offset = None

    def forward(self, x, training=False):
        x = self._prepare_input(x)
        self._offset = None
        if not training or self.rate == 0.0:
            return x
        self._offset = self._next_offset(x.shape[0] * x.shape[-1])
        return ops.spatial_dropout(x, self.rate, seed=self.seed, offset=self._offset)

    def backward(self, dy):
        if self._offset is None:  # the last forward ran at inference (or with rate 0)
            return dy
        return ops.spatial_dropout_backward(dy, self.rate, seed=self.seed, offset=self._offset)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class SpatialDropout1D(_SpatialDropout):
    """Spatial dropout of (batch, steps, channels): whole channels of each sample."""

    rank = 1


class SpatialDropout2D(_SpatialDropout):
    """Spatial dropout of (batch, height, width, channels): whole feature maps of each sample."""

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Spatial dropout of (batch, depth, height, width, channels): whole feature maps of each sample."""

    rank = 3


class GaussianDropout(_StepStream, Layer):
    """Multiplies each input by noise drawn from N(1, rate / (1 - rate)) in training; the identity at inference.

    The noise has the mean and variance of inverted dropout's multiplier (0 or 1 / (1 - rate)), so
    it regularizes like Dropout without zeroing units (Srivastava et al., "Dropout: A Simple Way to
    Prevent Neural Networks from Overfitting", JMLR 2014, section 10). The noise of training step
    ``s`` is ``fastnn.random.normal(x.shape, 1, sqrt(rate / (1 - rate)), seed=self.seed,
    offset=s * 2**32)``. It is kept for backward (dx = dy * noise): regenerating a normal draw per
    element would cost more than the multiply it feeds.

    Args:
        rate: the equivalent drop probability, in [0, 1); 0 disables the noise.
        dtype, seed, name: see :class:`Layer`.
    """

    def __init__(self, rate, *, dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.rate = check.rate(rate)
        self.step = 0
        self._noise = None

    def forward(self, x, training=False):
        x = self._prepare_input(x)
        self._noise = None
        if not training or self.rate == 0.0:
            return x
        offset = self._next_offset(x.size)
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        self._noise = _random.normal(x.shape, 1.0, stddev, seed=self.seed, offset=offset, dtype=self.dtype)
        return x * self._noise

    def backward(self, dy):
        if self._noise is None:
            return dy
        return np.asarray(dy, dtype=self.dtype) * self._noise

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}
