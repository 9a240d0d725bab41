"""Data augmentation layers: random geometric changes of image batches while training, the
identity at inference. Each runs :func:`fastnn.augment.random_affine` (one C++ resampling pass)
on the layer's own Philox stream: training step ``s`` draws at offset ``s * 2**32``, so augmented
batches are bitwise reproducible and a resumed model continues the same sequence.

They have no weights and belong at the start of a model, before the first layer with weights
(nothing upstream of that layer needs a gradient, so none is computed through them).
"""

from __future__ import annotations

from .. import _validation as check
from .. import augment as _augment
from .base import Layer


class _Augmentation(Layer):
    def __init__(self, *, dtype=None, seed=None, name=None):
        super().__init__(dtype=dtype, seed=seed, name=name)
        self.step = 0

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self._label()} needs image batches (batch, height, width, channels); received "
                             f"per-sample shape {tuple(input_shape)}")
        super().build(input_shape)

    def forward(self, x, training=False):
        x = self._prepare_input(x)
        if not training:
            return x
        offset = self.step << 32
        self.step += 1
        return _augment.random_affine(x, seed=self.seed, offset=offset, **self._settings())

    def backward(self, dy):
        raise RuntimeError(f"{self._label()} passes no gradient: put augmentation layers before the first layer with "
                           "weights")

    def get_state(self):
        return {"step": self.step}

    def set_state(self, state):
        self.step = int(state.get("step", 0))

    def _settings(self):
        raise NotImplementedError


class _Filled(_Augmentation):
    """An augmentation that samples between pixels: it has a fill mode and value."""

    def __init__(self, fill_mode="reflect", fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.fill_mode = check.choice(fill_mode, "fill_mode", _augment.FILL_MODES)
        self.fill_value = check.real(fill_value, "fill_value")

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "fill_value": self.fill_value}


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

    def _settings(self):
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

    def _settings(self):
        return {"rotation": self.factor, "fill_mode": self.fill_mode, "fill_value": self.fill_value}


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

    def _settings(self):
        return {"zoom": self.height_factor, "zoom_width": self.width_factor, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value}


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

    def _settings(self):
        return {"translation": (self.height_factor, self.width_factor), "fill_mode": self.fill_mode,
                "fill_value": self.fill_value}
