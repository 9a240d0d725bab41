"""The layer protocol every layer follows.

A layer works on its own on NumPy arrays: ``build(input_shape)`` creates its parameters (called
by the first ``forward`` when the input size was not given), ``forward(x, training=False) -> y``
keeps what backward needs, ``backward(dy) -> dx`` fills ``grads`` with the gradients of the loss
(data term plus the layer's regularization penalties) and returns the gradient for its input.
``params`` and ``grads`` are dicts of arrays by name ("W", "b"): the trainable weights, which the
optimizer updates. ``non_trainable_weights`` holds arrays a layer updates itself (BatchNormalization's
moving statistics): saved and restored with the weights, never seen by the optimizer.
Shapes exclude the batch axis.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from .. import random as _random


class Layer:
    """Base class of all layers.

    Args:
        dtype: float32 or float64; None takes the model's (float32 for a layer on its own).
        seed: the layer's random stream (initial weights, dropout masks); None takes one derived
            from the model's seed, or a fresh one for a layer on its own.
        name: a label for ``summary()``.
    """

    def __init__(self, *, dtype=None, seed=None, name=None):
        self.dtype = None if dtype is None else check.float_dtype(dtype)
        self.seed = None if seed is None else check.seed(seed)
        self.name = name
        self.params = {}
        self.grads = {}
        self.non_trainable_weights = {}
        self.input_shape = None
        self.built = False
        # Set when a neighbouring Dense layer computes this layer's work in its fused epilogue.
        self.fused_into = None
        # Set by a model for its training steps: the outputs and gradients of training calls
        # then go into arrays kept across steps (each step overwrites the last one's) instead of
        # new ones. Off for a layer on its own, whose results the caller may keep.
        self.reuse_buffers = False
        self._buffers = {}
        # Set by a model whose optimizer adds the regularization penalties' gradients (inside its
        # update pass): backward then leaves them out of grads.
        self.penalties_in_optimizer = False

    # -- the protocol -------------------------------------------------------------------------

    def build(self, input_shape):
        """Creates the parameters for inputs of per-sample shape ``input_shape``."""
        self.input_shape = tuple(input_shape)
        if self.dtype is None:
            self.dtype = np.dtype(np.float32)
        if self.seed is None:
            self.seed = _random.new_seed()
        self.built = True

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def output_shape(self, input_shape):
        """Per-sample output shape for per-sample input shape ``input_shape``."""
        return tuple(input_shape)

    def regularization_penalty(self):
        """The layer's contribution to the loss from its regularizers (0.0 when it has none)."""
        return 0.0

    def regularizers(self):
        """The regularizer of each penalized parameter, by the parameter's name in ``params``."""
        return {}

    def get_config(self):
        """Constructor arguments that recreate the layer (JSON-serialisable)."""
        return {"name": self.name, "dtype": None if self.dtype is None else self.dtype.name, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        """The layer that ``get_config()`` describes (used by loading; builds nothing else)."""
        return cls(**config)

    def get_state(self):
        """Counters that are not parameters but must be saved to resume training exactly."""
        return {}

    def set_state(self, state):
        pass

    # -- helpers --------------------------------------------------------------------------------

    def __call__(self, x, training=False):
        return self.forward(x, training=training)

    @property
    def weights(self):
        """Every weight by name, trainable then non-trainable: what get_weights and saving store."""
        return {**self.params, **self.non_trainable_weights}

    def count_params(self):
        """The number of weights, trainable and non-trainable (as Keras's summary counts them)."""
        return int(sum(p.size for p in self.weights.values()))

    def _prepare_input(self, x):
        """x as an array of the layer's dtype, building the layer on first use."""
        if not isinstance(x, np.ndarray) or x.dtype not in check.FLOAT_DTYPES:
            (x,) = check.float_arrays(x=x)
        if not self.built:
            if x.ndim < 1:
                raise ValueError(f"{type(self).__name__} needs a batch of inputs. Received shape {x.shape}")
            self.build(x.shape[1:])
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"{self._label()} expects inputs of shape (batch, {', '.join(map(str, self.input_shape))}). "
                             f"Received shape {x.shape}")
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return x

    def _buffer(self, name, shape, dtype=None):
        """An array of ``shape`` (and ``dtype``, the layer's by default) for the result ``name``:
        reused across calls when ``reuse_buffers`` is set (one per shape: an epoch's short last
        batch keeps its own)."""
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        if not self.reuse_buffers:
            return np.empty(shape, dtype)
        key = (name, shape)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.dtype != dtype:
            buffer = self._buffers[key] = np.empty(shape, dtype)
        return buffer

    def _output_gradient(self, dy, shape):
        """dy as a C-contiguous array of the layer's dtype, which must have the output's ``shape``
        (checked before any use: a broadcastable dy of the wrong shape must not pass silently)."""
        dy = np.ascontiguousarray(dy, dtype=self.dtype)
        if dy.shape != shape:
            raise ValueError(f"{self._label()}: dy must have the output's shape {shape}. Received shape {dy.shape}")
        return dy

    def _label(self):
        return f"Layer {self.name!r} ({type(self).__name__})" if self.name else type(self).__name__

    def __repr__(self):
        return f"{type(self).__name__}({self.name or ''})"


_AXES = {1: "steps", 2: "height, width", 3: "depth, height, width"}


class _SpatialLayer(Layer):
    """A layer on channels-last (batch, *spatial, channels) inputs with ``rank`` spatial axes."""

    rank = None

    def build(self, input_shape):
        self._check_rank(input_shape)
        super().build(input_shape)

    def _check_rank(self, input_shape):
        if len(input_shape) != self.rank + 1:
            raise ValueError(f"{self._label()} needs {self.rank + 2}-D inputs (batch, {_AXES[self.rank]}, channels); "
                             f"received per-sample shape {tuple(input_shape)}")
