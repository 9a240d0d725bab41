"""Optimizers: the base class owns the bookkeeping (step count, per-parameter state, saving);
each optimizer implements only its update.

Each update is one fused, multi-threaded C++ pass over the parameter (``fastnn._core``), in
place, on state allocated at the parameter's first step: a training step allocates nothing
here and reads each parameter, gradient and state array once. An L1/L2 penalty handed over
with the gradient is folded into that same pass.
"""

from __future__ import annotations

import math

import numpy as np

from . import _core
from . import _validation as check
from . import regularizers as _regularizers

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "get"]


class Optimizer:
    """Base class.

    ``apply(params)`` takes ``(key, param, grad)`` or ``(key, param, grad, regularizer)`` items,
    increments ``iterations`` and updates each ``param`` (a C-contiguous float array) in place
    through :meth:`update`. A regularizer's gradient is added to ``grad`` first, in place (a
    C-contiguous ``grad`` of the parameter's dtype then holds the full gradient): for an :class:`~fastnn.regularizers.L1L2`
    penalty inside the update's own pass, for any other one with NumPy. Subclasses name their
    per-parameter state arrays in ``slots`` (created zero-filled, shaped like the parameter) and
    implement ``update(param, grad, state)``; those that also take ``penalty``, the (l1, l2)
    factors to fold into the pass, set ``fuses_penalties`` (a model then hands them its
    regularizers instead of adding their gradients in the layers).
    """

    slots = ()
    fuses_penalties = False

    def __init__(self, learning_rate):
        self.learning_rate = _positive(learning_rate, "learning_rate")
        self.iterations = 0
        self._state = {}

    def apply(self, params):
        self.iterations += 1
        states, fuses = self._state, self.fuses_penalties
        for key, param, grad, *regularizer in params:
            if not (isinstance(param, np.ndarray) and param.flags.c_contiguous and param.flags.writeable):
                raise ValueError(f"Parameter {key!r} must be a writeable C-contiguous array to be updated in place")
            state = states.get(key)
            if state is None or not _made_for(state, param):
                state = states[key] = {name: np.zeros_like(param) for name in self.slots}
            grad = np.ascontiguousarray(grad, dtype=param.dtype)
            penalty = _fused_penalty(regularizer[0] if regularizer else None, param, grad, fuses)
            if fuses:
                self.update(param, grad, state, penalty)
            else:
                self.update(param, grad, state)

    def update(self, param, grad, state):
        raise NotImplementedError

    def get_config(self):
        return {"learning_rate": self.learning_rate}

    def get_state(self):
        """A snapshot: the step count and a copy of every slot array."""
        arrays = {f"{key}/{name}": value.copy() for key, state in self._state.items() for name, value in state.items()}
        return self.iterations, arrays

    def set_state(self, iterations, arrays, params):
        """Restores :meth:`get_state`'s output; ``params`` maps keys to the parameters."""
        self.iterations = int(iterations)
        self._state = {}
        for key, param in params.items():
            if self.slots and all(f"{key}/{name}" in arrays for name in self.slots):
                state = {name: np.array(arrays[f"{key}/{name}"], dtype=param.dtype) for name in self.slots}
                if any(value.shape != param.shape for value in state.values()):
                    raise ValueError(f"Optimizer state for {key} does not match the parameter's shape {param.shape}")
                self._state[key] = state

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum, as in Keras.

    ``v ← momentum · v − lr · g``; ``w ← w + v`` (Nesterov: ``w ← w + momentum · v − lr · g``).
    Without momentum, ``w ← w − lr · g``.
    """

    fuses_penalties = True

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = check.real(momentum, "momentum")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"Argument `momentum` must be in [0, 1). Received: momentum={self.momentum}")
        self.nesterov = check.boolean(nesterov, "nesterov")
        self.slots = ("velocity",) if self.momentum else ()

    def update(self, param, grad, state, penalty=(0.0, 0.0)):
        _core.sgd_update(param, grad, state.get("velocity"), self.learning_rate, self.momentum, self.nesterov, *penalty)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam, Algorithm 1 of D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.

    ``m ← β₁ m + (1 − β₁) g``; ``v ← β₂ v + (1 − β₂) g²``;
    ``w ← w − lr · m̂ / (√v̂ + ε)`` with ``m̂ = m / (1 − β₁ᵗ)``, ``v̂ = v / (1 − β₂ᵗ)``.
    """

    slots = ("m", "v")
    fuses_penalties = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = _unit_interval(beta_1, "beta_1")
        self.beta_2 = _unit_interval(beta_2, "beta_2")
        self.epsilon = _positive(epsilon, "epsilon")

    def update(self, param, grad, state, penalty=(0.0, 0.0), decay=0.0):
        t = self.iterations
        _core.adam_update(param, grad, state["m"], state["v"], self.beta_1, self.beta_2, self.epsilon,
                          self.learning_rate / (1 - self.beta_1**t), 1 / math.sqrt(1 - self.beta_2**t), decay, *penalty)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay: each step first ``w ← w − lr · weight_decay · w``, then Adam.

    Unlike an L2 penalty in the loss, the decay is not rescaled by Adam's adaptive denominators
    (I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019).
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate, beta_1, beta_2, epsilon)
        self.weight_decay = check.real(weight_decay, "weight_decay", minimum=0)

    def update(self, param, grad, state, penalty=(0.0, 0.0)):
        super().update(param, grad, state, penalty, decay=self.learning_rate * self.weight_decay)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """RMSprop (T. Tieleman and G. Hinton, 2012), as in Keras: ``v ← ρ v + (1 − ρ) g²``; ``w ← w − lr · g / √(v + ε)``."""

    slots = ("v",)
    fuses_penalties = True

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate)
        self.rho = _unit_interval(rho, "rho")
        self.epsilon = _positive(epsilon, "epsilon")

    def update(self, param, grad, state, penalty=(0.0, 0.0)):
        _core.rmsprop_update(param, grad, state["v"], self.learning_rate, self.rho, self.epsilon, *penalty)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "rho": self.rho, "epsilon": self.epsilon}


def _made_for(state, param):
    """Whether a key's slot arrays (made together, all alike) fit ``param``'s shape and dtype."""
    first = next(iter(state.values()), None)
    return first is None or (first.shape == param.shape and first.dtype == param.dtype)


def _fused_penalty(regularizer, param, grad, fuses):
    """(l1, l2) for the update to fold in; a regularizer it cannot fold is added here instead."""
    if regularizer is None:
        return 0.0, 0.0
    if not grad.flags.writeable:
        raise ValueError("A gradient with a regularizer must be writeable: the penalized gradient is stored in it")
    if fuses and type(regularizer).gradient is _regularizers.L1L2.gradient:
        return regularizer.l1, regularizer.l2
    grad += regularizer.gradient(param)
    return 0.0, 0.0


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier):
    """An optimizer from an instance (returned unchanged), a name ("sgd", "adam", "adamw",
    "rmsprop") with default settings, or a saved ``{"class_name", "config"}`` dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cls = _BY_CLASS.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown optimizer class {identifier.get('class_name')!r}")
        return cls(**identifier.get("config", {}))
    return _BY_NAME[check.choice(identifier, "optimizer", tuple(_BY_NAME))]()


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def _positive(value, name):
    return check.real(value, name, 0, exclusive=True)


def _unit_interval(value, name):
    value = check.real(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"Argument `{name}` must be in [0, 1). Received: {name}={value}")
    return value
