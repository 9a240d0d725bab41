"""Losses: the mean over the batch of a per-sample loss, and its gradient.

Each loss gives ``loss(y_true, y_pred) -> float`` and ``loss.gradient(y_true, y_pred)``. The
cross-entropies also take the logits directly (``from_logits``) when the network's output
activation is the matching sigmoid or softmax; ``Sequential`` does this automatically, so no
``log(0)`` and no overflow can happen however confident the network (logits of ±1e4 are fine),
and the gradient is the well-conditioned ``(p - y) / n``.

For outputs with several columns the per-sample loss is the mean (MSE, binary cross-entropy) or
the sum (categorical cross-entropies) over the columns, as in Keras.
"""

from __future__ import annotations

import numpy as np

from . import _core
from . import _validation as check

__all__ = ["Loss", "MeanSquaredError", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "get", "softmax", "sigmoid"]

# Probabilities are clipped to [EPSILON, 1 - EPSILON] when a cross-entropy gets probabilities
# rather than logits (Keras's default).
EPSILON = 1e-7


def sigmoid(z):
    """Numerically stable logistic function."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def softmax(z, axis=-1):
    """Numerically stable softmax along ``axis``."""
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))  # finite logits cannot overflow here
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def log_softmax(z, axis=-1):
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class Loss:
    """Base class. ``logits_activation`` names the output activation whose logits the loss can take."""

    name = None
    logits_activation = None
    # "sparse": integer labels; "dense": targets shaped like the outputs.
    target_kind = "dense"

    def __call__(self, y_true, y_pred):
        raise NotImplementedError

    def gradient(self, y_true, y_pred):
        raise NotImplementedError

    def from_logits(self, y_true, logits):
        """(loss, d loss / d logits) when the output activation is ``logits_activation``."""
        raise NotImplementedError(f"{self.name} cannot take logits")


class MeanSquaredError(Loss):
    """``mean((y_pred - y_true)²)`` over every element."""

    name = "mse"

    def __call__(self, y_true, y_pred):
        return float(np.mean(np.square(y_pred - y_true), dtype=np.float64))

    def gradient(self, y_true, y_pred):
        return (2.0 / max(y_pred.size, 1)) * (y_pred - y_true)


class BinaryCrossentropy(Loss):
    """``-mean(y log p + (1 - y) log(1 - p))`` over every element; targets in [0, 1].

    From logits z (sigmoid outputs): ``mean(max(z, 0) - z y + log(1 + exp(-|z|)))``.
    """

    name = "binary_crossentropy"
    logits_activation = "sigmoid"

    def __call__(self, y_true, y_pred):
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log1p(-p), dtype=np.float64))

    def gradient(self, y_true, y_pred):
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1 - EPSILON)  # the clip's derivative
        return inside * (p - y_true) / (p * (1 - p)) / max(y_pred.size, 1)

    def from_logits(self, y_true, logits):
        loss = np.maximum(logits, 0) - logits * y_true + np.log1p(np.exp(-np.abs(logits)))
        return float(np.mean(loss, dtype=np.float64)), (sigmoid(logits) - y_true) / max(logits.size, 1)


class CategoricalCrossentropy(Loss):
    """``-mean_batch Σ_classes y log p`` with one-hot (or soft) targets.

    From logits z (softmax outputs): ``-mean_batch Σ y log_softmax(z)``, gradient
    ``(softmax(z) Σ y - y) / batch``.
    """

    name = "categorical_crossentropy"
    logits_activation = "softmax"

    def __call__(self, y_true, y_pred):
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return float(-np.sum(y_true * np.log(p), dtype=np.float64) / max(len(y_pred), 1))

    def gradient(self, y_true, y_pred):
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1 - EPSILON)
        return -(inside * y_true / p) / max(len(y_pred), 1)

    def from_logits(self, y_true, logits):
        log_p = log_softmax(logits)
        loss = -np.sum(y_true * log_p, dtype=np.float64) / max(len(logits), 1)
        grad = np.exp(log_p) * np.sum(y_true, axis=-1, keepdims=True) - y_true  # softmax from the same pass
        return float(loss), grad / max(len(logits), 1)


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer class labels ``y_true`` of shape (batch,)."""

    name = "sparse_categorical_crossentropy"
    logits_activation = "softmax"
    target_kind = "sparse"

    def __call__(self, y_true, y_pred):
        p = np.clip(_picked(y_pred, y_true), EPSILON, 1 - EPSILON)
        return float(-np.sum(np.log(p), dtype=np.float64) / max(len(y_pred), 1))

    def gradient(self, y_true, y_pred):
        grad = np.zeros_like(y_pred)
        picked = _picked(y_pred, y_true)
        inside = (picked > EPSILON) & (picked < 1 - EPSILON)
        grad[np.arange(len(y_pred)), y_true] = -(inside / np.clip(picked, EPSILON, 1 - EPSILON))
        return grad / max(len(y_pred), 1)

    def from_logits(self, y_true, logits):
        # One C++ pass per row (the step's loss took ~80 us as a dozen NumPy calls on (128, 10)).
        logits = np.asarray(logits)
        dtype = logits.dtype if logits.dtype in (np.float32, np.float64) else np.float64
        logits = np.ascontiguousarray(logits, dtype=dtype)
        labels = np.asarray(y_true)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"Argument `y_true` must hold integer class labels. Received dtype {labels.dtype}")
        grad = np.empty_like(logits)
        loss = _core.sparse_softmax_cross_entropy(logits, np.ascontiguousarray(labels, dtype=np.int64), grad)
        return loss, grad


def _picked(y_pred, labels):
    return y_pred[np.arange(len(y_pred)), labels]


_BY_NAME = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier):
    """A loss from an instance (returned unchanged) or a name: "mse", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy"."""
    if isinstance(identifier, Loss):
        return identifier
    return _BY_NAME[check.choice(identifier, "loss", tuple(_BY_NAME))]()
