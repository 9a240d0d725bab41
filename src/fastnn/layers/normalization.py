"""Batch normalization (Ioffe and Szegedy, "Batch Normalization: Accelerating Deep Network Training
by Reducing Internal Covariate Shift", ICML 2015), on the fused C++ kernels ``fastnn.ops.batch_norm``."""

from __future__ import annotations

import numpy as np

from .. import _core
from .. import _validation as check
from .. import ops
from .base import Layer


class BatchNormalization(Layer):
    """Normalizes each feature over the batch, then scales and shifts it: Keras's semantics and names.

    ``y = gamma * (x - mean) / sqrt(variance + epsilon) + beta`` per feature (the entries along
    ``axis``; for a channels-last (batch, *spatial, channels) input, per channel over batch and space).

    - Training: ``mean`` and ``variance`` are the batch's statistics, the variance biased (divided
      by the number of values, as Keras does for both the normalization and the moving variance);
      then ``moving = momentum * moving + (1 - momentum) * batch`` for both moving statistics.
    - Inference: the moving statistics are used; backward then treats them as constants.

    ``gamma`` and ``beta`` are trainable (``params``); ``moving_mean`` and ``moving_variance`` are
    ``non_trainable_weights``: saved and restored with the weights, never touched by the optimizer.
    Initial values as in Keras: gamma 1, beta 0, moving mean 0, moving variance 1.

    Args:
        axis: the feature axis of the (batch, ...) input, -1 by default; not the batch axis.
        momentum: of the moving statistics, in [0, 1].
        epsilon: added to the variance, > 0.
        center: learn ``beta`` (else beta = 0).
        scale: learn ``gamma`` (else gamma = 1).
        dtype, seed, name: see :class:`Layer`.

    Raises:
        ValueError: a bad argument; in training, a batch with only one value per feature (its
            variance is 0 and its gradient meaningless).

    Example:
        >>> model = Sequential([Dense(64, input_dim=10), BatchNormalization(), ReLU(), Dense(1)])
    """

    def __init__(self, *, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, dtype=None, seed=None,
                 name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.axis = check.integer(axis, "axis")
        self.momentum = check.real(momentum, "momentum", minimum=0)
        if self.momentum > 1:
            raise ValueError(f"Argument `momentum` must be in [0, 1]. Received: momentum={self.momentum}")
        self.epsilon = check.real(epsilon, "epsilon", minimum=0, exclusive=True)
        self.center = check.boolean(center, "center")
        self.scale = check.boolean(scale, "scale")
        self._feature_axis = None  # axis as a non-negative index into the (batch, ...) input
        self._gamma = self._beta = None
        self._cache = None
        self.fused_activation = None  # an activation layer computed in the normalization pass (Sequential decides)

    def build(self, input_shape):
        rank = len(input_shape) + 1
        if not -rank < self.axis < rank or self.axis in (0, -rank):
            raise ValueError(f"Argument `axis` must name a feature axis of the {rank}-D input (batch, "
                             f"{', '.join(map(str, input_shape))}): 1 to {rank - 1} or -1 to {-(rank - 1)}. "
                             f"Received: axis={self.axis}")
        super().build(input_shape)
        self._feature_axis = self.axis % rank
        features = int(input_shape[self._feature_axis - 1])
        ones, zeros = np.ones(features, self.dtype), np.zeros(features, self.dtype)
        self.params, self.grads = {}, {}
        if self.scale:
            self.params["gamma"], self.grads["gamma"] = ones.copy(), zeros.copy()
        if self.center:
            self.params["beta"], self.grads["beta"] = zeros.copy(), zeros.copy()
        self.non_trainable_weights = {"moving_mean": zeros.copy(), "moving_variance": ones.copy()}
        self._gamma = self.params.get("gamma", ones)
        self._beta = self.params.get("beta", zeros)

    def forward(self, x, training=False):
        """x: (batch, ...) -> y of the same shape."""
        x = self._prepare_input(x)
        x_features_last = self._to_features_last(x)
        if training:
            features = x.shape[self._feature_axis]
            if x.size // max(features, 1) < 2:
                raise ValueError(f"{self._label()} needs more than one value per feature to compute batch statistics "
                                 f"in training. Received a batch of {len(x)} with input shape {x.shape}: use a larger "
                                 "`batch_size`, or call it with training=False")
            # The hot path of fit, as Dense's and Conv's: the layer's own valid arrays straight to the kernel.
            x_features_last = np.ascontiguousarray(x_features_last)
            y = self._buffer("y", x_features_last.shape)
            mean, variance = self._buffer("mean", (features,)), self._buffer("variance", (features,))
            _core.batch_norm_training(x_features_last, self._gamma, self._beta, self.epsilon, y, mean, variance,
                                      *self._activation())
            self._update_moving(mean, variance)
        else:
            kernel, alpha = self._activation()
            y, mean, variance = ops.batch_norm(x_features_last, self._gamma, self._beta, epsilon=self.epsilon,
                                               mean=self.non_trainable_weights["moving_mean"].copy(),
                                               variance=self.non_trainable_weights["moving_variance"].copy(),
                                               activation=kernel, alpha=alpha)
        self._cache = (x_features_last, y, mean, variance, bool(training))
        return self._from_features_last(y)

    def backward(self, dy):
        """Fills grads["gamma"], grads["beta"] (those that are learned) and returns dx."""
        x_features_last, y, mean, variance, batch_statistics = self._cache
        dy = self._output_gradient(dy, self._from_features_last(y).shape)
        dy = np.ascontiguousarray(self._to_features_last(dy))
        features = x_features_last.shape[-1]
        dx = self._buffer("dx", x_features_last.shape)  # kept across steps inside fit, as Dense's
        dgamma, dbeta = self._buffer("dgamma", (features,)), self._buffer("dbeta", (features,))
        # The layer's own arrays (and dy, checked above) go straight to the kernel.
        _core.batch_norm_backward(dy, x_features_last, y, self._gamma, mean, variance, self.epsilon, batch_statistics,
                                  *self._activation(), dx, dgamma, dbeta)
        if self.scale:
            self.grads["gamma"] = dgamma
        if self.center:
            self.grads["beta"] = dbeta
        return self._from_features_last(dx)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}

    # -- internals ------------------------------------------------------------------------------

    def _activation(self):
        """The fused activation's kernel name and slope (the identity when none is fused)."""
        if self.fused_activation is None:
            return "identity", 0.0
        return self.fused_activation.kernel, self.fused_activation.alpha

    def _update_moving(self, mean, variance):
        momentum = self.dtype.type(self.momentum)
        rest = self.dtype.type(1 - self.momentum)
        for name, batch in (("moving_mean", mean), ("moving_variance", variance)):
            moving = self.non_trainable_weights[name]
            moving[...] = moving * momentum + batch * rest

    def _to_features_last(self, a):
        if self._feature_axis == a.ndim - 1:
            return a
        return np.ascontiguousarray(np.moveaxis(a, self._feature_axis, -1))

    def _from_features_last(self, a):
        if self._feature_axis == a.ndim - 1:
            return a
        return np.moveaxis(a, -1, self._feature_axis)
