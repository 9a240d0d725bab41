"""Data augmentation layers: random geometric changes of image batches while training, the
identity at inference. Each draws its transforms as :func:`fastnn.augment.random_affine` does
(:func:`~fastnn.augment.random_matrices`) and resamples in one C++ pass, on the layer's own Philox
stream: training step ``s`` draws at offset ``s * 2**32``, so augmented batches are bitwise
reproducible and a resumed model continues the same sequence.

They have no weights. At the start of a model, before the first layer with weights, no gradient
is computed through them (nothing upstream needs one); placed after weights they pass the
gradient back through the same resampling (:func:`fastnn.augment.affine_transform_backward`).
"""

from __future__ import annotations

from .. import _validation as check
from .. import augment as _augment
from .base import Layer


class _Augmentation(Layer):
    def __init__(self, *, dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.step = 0
        self._matrices = None  # the last training forward's, for backward; None: it was the identity

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self._label()} needs image batches (batch, height, width, channels); received "
                             f"per-sample shape {tuple(input_shape)}")
        super().build(input_shape)

    def forward(self, x, training=False):
        x = self._prepare_input(x)
        self._matrices = None
        if not training:
            return x
        offset = self.step << 32
        self.step += 1
        self._matrices = _augment.random_matrices(x.shape, seed=self.seed, offset=offset, **self._draws())
        return _augment.affine_transform(x, self._matrices, **self._fill())

    def backward(self, dy):
        if self._matrices is None:  # the last forward was at inference: the identity
            return dy
        # The fill mode alone: a constant fill's value does not depend on the input.
        fill_mode = {key: value for key, value in self._fill().items() if key == "fill_mode"}
        return _augment.affine_transform_backward(dy, self._matrices, **fill_mode)

    def get_state(self):
        return {"step": self.step}

    def set_state(self, state):
        self.step = int(state.get("step", 0))

    def _draws(self):
        """What to draw per image: random_matrices's keyword arguments."""
        raise NotImplementedError

    def _fill(self):
        """What points outside the image read: affine_transform's keyword arguments."""
        return {}


class _Filled(_Augmentation):
    """An augmentation that samples between pixels: it has a fill mode and value."""

    def __init__(self, fill_mode="reflect", fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.fill_mode = check.choice(fill_mode, "fill_mode", _augment.FILL_MODES)
        self.fill_value = check.real(fill_value, "fill_value")

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "fill_value": self.fill_value}

    def _fill(self):
        return {"fill_mode": self.fill_mode, "fill_value": self.fill_value}


class RandomFlip(_Augmentation):
    """Flips each image horizontally and/or vertically, each with probability 1/2.

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical" (Keras's default).
    """

    def __init__(self, mode="horizontal_and_vertical", *, dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.mode = check.choice(mode, "mode", _augment.FLIP_MODES)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}

    def _draws(self):
        return {"flip": self.mode}


class RandomRotation(_Filled):
    """Rotates each image by a random fraction of a full turn: ``factor`` f means (-f, f), a pair
    (low, high) that range; positive turns counter-clockwise. Bilinear interpolation."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", *, fill_value=0.0, dtype=None, seed=None,
                 name=None):
        super().__init__(fill_mode, fill_value, dtype=dtype, seed=seed, name=name)
        self.factor = _augment._factor(factor, "factor")
        self.interpolation = check.choice(interpolation, "interpolation", ("bilinear",))

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "interpolation": self.interpolation}

    def _draws(self):
        return {"rotation": self.factor}


class RandomZoom(_Filled):
    """Zooms each image by ``1 + factor`` per axis (positive: out): ``height_factor`` f or (low,
    high) within [-1, 1]; ``width_factor`` likewise, None for the height's zoom (aspect kept)."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", *, fill_value=0.0, dtype=None, seed=None,
                 name=None):
        super().__init__(fill_mode, fill_value, dtype=dtype, seed=seed, name=name)
        self.height_factor = _augment._factor(height_factor, "height_factor", bound=1.0)
        self.width_factor = None if width_factor is None else _augment._factor(width_factor, "width_factor", bound=1.0)

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": None if self.width_factor is None else list(self.width_factor)}

    def _draws(self):
        return {"zoom": self.height_factor, "zoom_width": self.width_factor}


class RandomTranslation(_Filled):
    """Shifts each image by random fractions of its height and width (f or (low, high) within
    [-1, 1]; positive moves content down and right)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", *, fill_value=0.0, dtype=None, seed=None,
                 name=None):
        super().__init__(fill_mode, fill_value, dtype=dtype, seed=seed, name=name)
        self.height_factor = _augment._factor(height_factor, "height_factor", bound=1.0)
        self.width_factor = _augment._factor(width_factor, "width_factor", bound=1.0)

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor), "width_factor": list(self.width_factor)}

    def _draws(self):
        return {"translation": (self.height_factor, self.width_factor)}
