"""Optimizers: the base class owns the bookkeeping (step count, per-parameter state, saving);
each optimizer implements only its in-place update.

Updates run in place with ``out=`` NumPy arithmetic on state allocated at a parameter's first
step, so a training step allocates nothing here.
"""

from __future__ import annotations

import math

import numpy as np

from . import _validation as check

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "get"]


class Optimizer:
    """Base class.

    ``apply(params)`` takes ``(key, param, grad)`` triples, increments ``iterations`` and updates
    each ``param`` in place through :meth:`update`. Subclasses name their per-parameter state
    arrays in ``slots`` (created zero-filled, shaped like the parameter) and implement
    ``update(param, grad, state)``; ``state["scratch"]`` is a spare array of the same shape.
    """

    slots = ()

    def __init__(self, learning_rate):
        self.learning_rate = _positive(learning_rate, "learning_rate")
        self.iterations = 0
        self._state = {}

    def apply(self, params):
        self.iterations += 1
        for key, param, grad in params:
            state = self._state.get(key)
            if state is None or state["scratch"].shape != param.shape:
                state = {name: np.zeros_like(param) for name in (*self.slots, "scratch")}
                self._state[key] = state
            self.update(param, grad, state)

    def update(self, param, grad, state):
        raise NotImplementedError

    def get_config(self):
        return {"learning_rate": self.learning_rate}

    def get_state(self):
        """A snapshot: the step count and a copy of every slot array (scratch space is not state)."""
        arrays = {f"{key}/{name}": value.copy() for key, state in self._state.items() for name, value in state.items()
                  if name != "scratch"}
        return self.iterations, arrays

    def set_state(self, iterations, arrays, params):
        """Restores :meth:`get_state`'s output; ``params`` maps keys to the parameters."""
        self.iterations = int(iterations)
        self._state = {}
        for key, param in params.items():
            if all(f"{key}/{name}" in arrays for name in self.slots):
                state = {name: np.array(arrays[f"{key}/{name}"], dtype=param.dtype) for name in self.slots}
                if any(value.shape != param.shape for value in state.values()):
                    raise ValueError(f"Optimizer state for {key} does not match the parameter's shape {param.shape}")
                state["scratch"] = np.zeros_like(param)
                self._state[key] = state

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum, as in Keras.

    ``v ← momentum · v − lr · g``; ``w ← w + v`` (Nesterov: ``w ← w + momentum · v − lr · g``).
    Without momentum, ``w ← w − lr · g``.
    """

    slots = ("velocity",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = check.real(momentum, "momentum")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"Argument `momentum` must be in [0, 1). Received: momentum={self.momentum}")
        self.nesterov = check.boolean(nesterov, "nesterov")

    def update(self, param, grad, state):
        step = np.multiply(grad, self.learning_rate, out=state["scratch"])  # lr · g
        if not self.momentum:
            param -= step
            return
        velocity = state["velocity"]
        velocity *= self.momentum
        velocity -= step
        if self.nesterov:
            param -= step
            np.multiply(velocity, self.momentum, out=step)
            param += step
        else:
            param += velocity

    def get_config(self):
        return {"learning_rate": self.learning_rate, "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam, Algorithm 1 of D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.

    ``m ← β₁ m + (1 − β₁) g``; ``v ← β₂ v + (1 − β₂) g²``;
    ``w ← w − lr · m̂ / (√v̂ + ε)`` with ``m̂ = m / (1 − β₁ᵗ)``, ``v̂ = v / (1 − β₂ᵗ)``.
    """

    slots = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = _unit_interval(beta_1, "beta_1")
        self.beta_2 = _unit_interval(beta_2, "beta_2")
        self.epsilon = _positive(epsilon, "epsilon")

    def update(self, param, grad, state):
        m, v, scratch = state["m"], state["v"], state["scratch"]
        t = self.iterations
        m *= self.beta_1
        m += np.multiply(grad, 1 - self.beta_1, out=scratch)
        v *= self.beta_2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - self.beta_2
        v += scratch
        # scratch ← lr · m̂ / (√v̂ + ε), with √v̂ = √v / √(1 − β₂ᵗ)
        np.sqrt(v, out=scratch)
        scratch *= 1 / math.sqrt(1 - self.beta_2**t)
        scratch += self.epsilon
        np.divide(m, scratch, out=scratch)
        scratch *= self.learning_rate / (1 - self.beta_1**t)
        param -= scratch

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

    def update(self, param, grad, state):
        param *= 1 - self.learning_rate * self.weight_decay
        super().update(param, grad, state)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """RMSprop (T. Tieleman and G. Hinton, 2012), as in Keras: ``v ← ρ v + (1 − ρ) g²``; ``w ← w − lr · g / √(v + ε)``."""

    slots = ("v",)

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate)
        self.rho = _unit_interval(rho, "rho")
        self.epsilon = _positive(epsilon, "epsilon")

    def update(self, param, grad, state):
        v, scratch = state["v"], state["scratch"]
        v *= self.rho
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - self.rho
        v += scratch
        np.add(v, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(grad, scratch, out=scratch)
        scratch *= self.learning_rate
        param -= scratch

    def get_config(self):
        return {"learning_rate": self.learning_rate, "rho": self.rho, "epsilon": self.epsilon}


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
