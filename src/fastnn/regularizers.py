"""Weight penalties added to the training loss: L1, L2 and both.

A penalty is part of the loss that ``fit`` minimises and that ``fit`` and ``evaluate`` report, so
its gradient flows into every optimizer the same way as the data term's.

L2 in the loss versus decoupled weight decay: an L2 penalty ``l2 * Σ w²`` adds ``2 * l2 * w`` to
the gradient. With plain SGD that is the same as shrinking the weights by a factor
``1 - 2 * lr * l2`` each step ("weight decay"). With adaptive optimizers (Adam, RMSprop) it is
not: the penalty's gradient is divided by the same running gradient scale as the data term, so
weights with large gradients are barely regularized. Decoupled weight decay (``AdamW``) shrinks
the weights directly, outside the adaptive step (I. Loshchilov and F. Hutter, "Decoupled Weight
Decay Regularization", ICLR 2019).
"""

from __future__ import annotations

import numpy as np

from . import _validation as check

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get"]


class Regularizer:
    """Base class: ``reg(w)`` is the penalty (a float), ``reg.gradient(w)`` its gradient."""

    def __call__(self, w):
        raise NotImplementedError

    def gradient(self, w):
        raise NotImplementedError

    def get_config(self):
        return {}


class L1L2(Regularizer):
    """``l1 * Σ|w| + l2 * Σw²``.

    L1 drives weights to exactly zero (feature selection); L2 shrinks all of them (smoother
    models). Larger factors: less overfitting, more underfitting. The gradient of ``|w|`` at 0 is
    taken as 0 (a subgradient).

    Args:
        l1: the L1 factor, >= 0.
        l2: the L2 factor, >= 0.

    Example:
        >>> L1L2(l1=0.1, l2=0.5)(np.array([1.0, -2.0]))   # 0.1 * 3 + 0.5 * 5
        2.8
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1")
        self.l2 = _factor(l2, "l2")

    def __call__(self, w):
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.sum(np.abs(w), dtype=np.float64))
        if self.l2:
            penalty += self.l2 * float(np.sum(np.square(w), dtype=np.float64))
        return penalty

    def gradient(self, w):
        grad = np.zeros_like(w)
        if self.l1:
            grad += self.l1 * np.sign(w)
        if self.l2:
            grad += (2 * self.l2) * w
        return grad

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


class L1(L1L2):
    """``l1 * Σ|w|``: pushes weights to exactly zero."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * Σw²``: shrinks every weight in proportion to its size."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier, name="regularizer"):
    """A regularizer from an instance (returned unchanged), None, a name ("l1", "l2", "l1_l2") or
    a ``{"class_name": ..., "config": {...}}`` dict (as saved in model files)."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown regularizer class {identifier.get('class_name')!r} in `{name}`")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"Argument `{name}` must be a Regularizer, None or one of 'l1', 'l2', 'l1_l2'. "
                     f"Received: {name}={identifier!r}")


def serialize(regularizer):
    return None if regularizer is None else {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def _factor(value, name):
    return check.real(value, name, minimum=0)
