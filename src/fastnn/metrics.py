"""Metrics computed alongside the loss. ``"accuracy"`` is read the way the loss reads targets."""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy_counts", "check_names"]

_ALIASES = {"accuracy": "accuracy", "acc": "accuracy"}


def get(name):
    if not isinstance(name, str) or name not in _ALIASES:
        raise ValueError(f"Unknown metric {name!r}: fastnn supports 'accuracy'")
    return _ALIASES[name]


def accuracy_counts(loss_name, y_true, outputs, from_logits):
    """(correct, total) for a batch: thresholded for binary cross-entropy, arg-max otherwise.

    ``outputs`` are the network's outputs, or their logits when ``from_logits`` (a sigmoid
    output exceeds 0.5 exactly when its logit exceeds 0; softmax preserves the arg-max).
    """
    binary = loss_name == "binary_crossentropy" or (loss_name in ("mse", "mean_squared_error") and outputs.shape[-1] == 1)
    if binary:
        predicted = outputs > (0.0 if from_logits else 0.5)
        return int(np.count_nonzero(predicted == (y_true > 0.5))), int(predicted.size)
    predicted = np.argmax(outputs, axis=-1)
    labels = y_true if y_true.ndim == predicted.ndim else np.argmax(y_true, axis=-1)
    return int(np.count_nonzero(predicted == labels)), int(predicted.size)


def check_names(metrics):
    if metrics is None:
        return []
    if isinstance(metrics, str):
        metrics = [metrics]
    try:
        names = [get(m) for m in metrics]
    except TypeError:
        raise TypeError(f"Argument `metrics` must be a list of metric names. Received: metrics={metrics!r}") from None
    return list(dict.fromkeys(names))
