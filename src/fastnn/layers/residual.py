"""Residual blocks: ``y = F(x) + shortcut(x)`` (He et al., "Deep Residual Learning for Image
Recognition", CVPR 2016)."""

from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from .activations import activation_after
from .base import Layer
from .conv import Conv1D, Conv2D, Conv3D
from .dense import Dense

_PROJECTIONS = {1: Conv1D, 2: Conv2D, 3: Conv3D}


class Residual(Layer):
    """``y = F(x) + shortcut(x)``, where F runs ``layers`` in order.

    The shortcut is the identity by default (F must then keep the shape), a layer of yours
    (a 1x1 convolution, a Dense), or ``"projection"``: a 1x1 convolution for images (strided
    when F shrinks them) or a Dense for flat inputs, sized to F's output. Residual blocks nest
    and sit in a ``Sequential`` like any layer, so a plain ``Sequential`` of them is a ResNet-style
    stack. The block's parameters are its layers', named ``"{index}/{name}"`` (the shortcut's
    ``"shortcut/{name}"``).

    Args:
        *layers: the layers of F (at least one).
        shortcut: None (identity), "projection", or a Layer.
        dtype, seed, name: see :class:`Layer`; the inner layers take the block's dtype and seeds
            derived from its seed unless they have their own.
    """

    def __init__(self, *layers, shortcut=None, dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        if not layers:
            raise ValueError("Residual needs at least one layer for its residual branch F")
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Residual takes Layer instances. Received: {type(layer).__name__}")
        if not (shortcut is None or shortcut == "projection" or isinstance(shortcut, Layer)):
            raise ValueError(f"Argument `shortcut` must be None, \"projection\" or a Layer. Received: shortcut={shortcut!r}")
        self.layers = list(layers)
        self.shortcut = shortcut
        self._shortcut_layer = shortcut if isinstance(shortcut, Layer) else None

    # -- the protocol -------------------------------------------------------------------------

    def build(self, input_shape):
        super().build(input_shape)
        shape = tuple(input_shape)
        for index, layer in enumerate(self.layers):
            if hasattr(layer, "activation_hint"):
                layer.activation_hint = activation_after(self.layers, index)
            shape = self._build_inner(layer, index, shape)
        if self.shortcut == "projection":
            self._shortcut_layer = _projection(tuple(input_shape), shape)
        short_shape = tuple(input_shape)
        if self._shortcut_layer is not None:
            short_shape = self._build_inner(self._shortcut_layer, len(self.layers), tuple(input_shape))
        if short_shape != shape:
            what = "the identity shortcut" if self._shortcut_layer is None else "the shortcut"
            hint = ' (pass shortcut="projection")' if self._shortcut_layer is None else ""
            raise ValueError(f"{self._label()}: F maps {tuple(input_shape)} to {shape} but {what} gives {short_shape}{hint}")
        self._output = shape
        # The layers update their weights in place, so these views stay valid; only backward
        # hands out new gradient arrays.
        for what in ("params", "grads", "non_trainable_weights"):
            self._collect(what)

    def output_shape(self, input_shape):
        if not self.built:
            self.build(input_shape)
        return self._output

    def forward(self, x, training=False):
        x = self._prepare_input(x)
        for layer in self._inner():
            layer.reuse_buffers = self.reuse_buffers
            layer.penalties_in_optimizer = self.penalties_in_optimizer
        h = x
        for layer in self.layers:
            h = layer.forward(h, training=training)
        short = x if self._shortcut_layer is None else self._shortcut_layer.forward(x, training=training)
        return np.add(h, short, out=self._buffer("y", h.shape) if training else None)

    def backward(self, dy):
        g = dy
        for layer in reversed(self.layers):
            g = layer.backward(g)
        short = dy if self._shortcut_layer is None else self._shortcut_layer.backward(dy)
        self._collect("grads")
        return g + short

    def regularization_penalty(self):
        return sum(layer.regularization_penalty() for layer in self._inner())

    def regularizers(self):
        return {f"{n}/{name}": regularizer for n, layer in self._named_inner()
                for name, regularizer in layer.regularizers().items()}

    def get_config(self):
        from . import REGISTRY

        def spec(layer):
            if REGISTRY.get(type(layer).__name__) is not type(layer):
                raise ValueError(f"{type(layer).__name__} is not a built-in layer and cannot be saved")
            return {"class_name": type(layer).__name__, "config": layer.get_config()}

        shortcut = spec(self.shortcut) if isinstance(self.shortcut, Layer) else self.shortcut
        return {**super().get_config(), "layers": [spec(layer) for layer in self.layers], "shortcut": shortcut}

    @classmethod
    def from_config(cls, config):
        from . import REGISTRY

        def build(spec):
            layer_cls = REGISTRY.get(spec.get("class_name")) if isinstance(spec, dict) else None
            if layer_cls is None:
                raise ValueError(f"unknown layer in a Residual block: {spec!r:.80}")
            return layer_cls.from_config(spec["config"])

        config = dict(config)
        layers = [build(spec) for spec in config.pop("layers")]
        shortcut = config.pop("shortcut")
        return cls(*layers, shortcut=build(shortcut) if isinstance(shortcut, dict) else shortcut, **config)

    def get_state(self):
        return {"layers": [layer.get_state() for layer in self._inner()]}

    def set_state(self, state):
        for layer, inner in zip(self._inner(), state.get("layers", [])):
            layer.set_state(inner)

    @property
    def shortcut_layer(self):
        """The shortcut's layer once built (the projection chosen for "projection"); None for the identity."""
        return self._shortcut_layer

    # -- internals ------------------------------------------------------------------------------

    def _inner(self):
        return self.layers + ([self._shortcut_layer] if self._shortcut_layer is not None else [])

    def _build_inner(self, layer, index, shape):
        if layer.dtype is None:
            layer.dtype = self.dtype
        if layer.seed is None:
            layer.seed = _random.derive_seed(self.seed, index)
        if not layer.built:
            layer.build(shape)
        elif layer.input_shape != shape:
            raise ValueError(f"{layer!r} was built for inputs {layer.input_shape}, but receives {shape} in {self._label()}")
        return tuple(layer.output_shape(shape))

    def _named_inner(self):
        names = [str(i) for i in range(len(self.layers))] + (["shortcut"] if self._shortcut_layer is not None else [])
        return list(zip(names, self._inner()))

    def _collect(self, what):
        """The block's `what` ("params", "grads", "non_trainable_weights"): its layers', by prefixed
        name (the same arrays)."""
        setattr(self, what, {f"{n}/{k}": v for n, layer in self._named_inner() for k, v in getattr(layer, what).items()})


def _projection(input_shape, output_shape):
    """A 1x1 convolution (images) or Dense (flat) from input_shape to output_shape."""
    if len(input_shape) == 1:
        return Dense(output_shape[-1])
    rank = len(input_shape) - 1
    if rank not in _PROJECTIONS or len(output_shape) != len(input_shape):
        raise ValueError(f"No projection shortcut maps {input_shape} to {output_shape}")
    strides = tuple(math.ceil(i / o) if o else 1 for i, o in zip(input_shape[:-1], output_shape[:-1]))
    if tuple(math.ceil(i / s) for i, s in zip(input_shape[:-1], strides)) != tuple(output_shape[:-1]):
        raise ValueError(f"No strided 1x1 convolution maps {input_shape} to {output_shape}")
    return _PROJECTIONS[rank](output_shape[-1], 1, strides=strides, padding="same")
