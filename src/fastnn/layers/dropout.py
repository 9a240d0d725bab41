"""Dropout in both conventions the literature teaches."""

from __future__ import annotations

from .. import _validation as check
from .. import ops
from .base import Layer

_MODES = ("inverted", "classic")


class Dropout(Layer):
    """Zeroes each unit with probability ``rate`` during training, so units cannot co-adapt.

    Two equivalent conventions (N. Srivastava et al., "Dropout: A Simple Way to Prevent Neural
    Networks from Overfitting", JMLR 2014):

    - ``"inverted"`` (PyTorch, Keras): kept units are scaled by ``1 / (1 - rate)`` in training;
      inference is the identity. Inside a Sequential model it is fused into a preceding Dense
      layer's epilogue.
    - ``"classic"``: no scaling in training; outputs are multiplied by ``1 - rate`` at inference.

    Both have the same expected output at training time as at inference. The mask of training
    step ``s`` is drawn from this layer's stream at offset ``s * 2**32`` and regenerated, not
    stored, for the backward pass.

    Args:
        rate: probability of dropping a unit, in [0, 1).
        mode: "inverted" or "classic".
        dtype, seed, name: see :class:`Layer`.
    """

    def __init__(self, rate, *, mode="inverted", dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.rate = check.rate(rate)
        self.mode = check.choice(mode, "mode", _MODES)
        self.step = 0
        self._draw = None

    def next_draw(self, size):
        """(rate, seed, offset) for the next training step's mask of ``size`` elements."""
        if size >= 2**32:
            raise ValueError(f"{self._label()}: a batch of {size} outputs exceeds the 2**32 draws of one step")
        offset = self.step << 32
        self.step += 1
        return self.rate, self.seed, offset

    def forward(self, x, training=False):
        x = self._prepare_input(x)
        self._draw = None
        if self.fused_into is not None:
            return x
        if not training or self.rate == 0.0:
            return x if self.mode == "inverted" else x * x.dtype.type(1 - self.rate)
        rate, seed, offset = self.next_draw(x.size)
        self._draw = (seed, offset, x.shape)
        if self.mode == "inverted":
            return ops.dropout(x, rate, seed=seed, offset=offset)
        return x * ops.dropout_mask(x.shape, rate, seed=seed, offset=offset)

    def backward(self, dy):
        if self.fused_into is not None:
            return dy
        if self._draw is None:  # the last forward ran at inference
            return dy if self.mode == "inverted" else dy * dy.dtype.type(1 - self.rate)
        seed, offset, shape = self._draw
        if self.mode == "inverted":
            return ops.dropout_backward(dy, self.rate, seed=seed, offset=offset)
        return dy * ops.dropout_mask(shape, self.rate, seed=seed, offset=offset)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "mode": self.mode}

    def get_state(self):
        return {"step": self.step}

    def set_state(self, state):
        self.step = int(state.get("step", 0))

