"""Geometric data augmentation of channels-last image batches: flips, rotations, zooms and
translations, alone or composed, resampled in one parallel C++ pass (bilinear interpolation).

Conventions follow Keras's preprocessing layers: a factor ``f`` means the range ``(-f, f)``, a
pair ``(low, high)`` that range; rotations are fractions of a full turn, positive turning the
image counter-clockwise; zoom factors add to 1 (positive zooms out, so content shrinks);
translations are fractions of the height and width, positive moving content down and right.
Points that fall outside the image read through ``fill_mode``: "reflect" (d c b a | a b c d |
d c b a), "constant" (``fill_value``), "nearest" (a a a | a b c d | d d d) or "wrap".

The random parameters are drawn from fastnn's Philox stream: image ``n`` of a call with
``(seed, offset)`` uses the uniform draws at positions ``offset + 8 n + k`` (k = 0: horizontal
flip, 1: vertical flip, 2: angle, 3: height zoom, 4: width zoom, 5: vertical shift, 6:
horizontal shift), so a batch is augmented identically on any thread count and machine.
"""

from __future__ import annotations

import math

import numpy as np

from . import _core
from . import _validation as check
from . import random as _random

__all__ = ["FILL_MODES", "FLIP_MODES", "affine_transform", "affine_transform_backward", "random_affine",
           "random_matrices", "random_flip", "random_rotation", "random_zoom", "random_translation"]

FILL_MODES = ("reflect", "constant", "nearest", "wrap")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
DRAWS_PER_IMAGE = 8


def affine_transform(images, matrices, *, fill_mode="reflect", fill_value=0.0, out=None):
    """Resamples each image at affinely mapped points: the kernel behind the random functions.

    Args:
        images: (batch, height, width, channels) float32 or float64.
        matrices: (batch, 2, 3): output pixel (i, j) reads input point
            ``(m[0, 0] i + m[0, 1] j + m[0, 2], m[1, 0] i + m[1, 1] j + m[1, 2])`` (row, column),
            bilinearly; a point within 1e-9 of a pixel copies it exactly.
        fill_mode, fill_value: what points outside the image read (module docstring).
        out: optional C-contiguous array like ``images`` (not overlapping it).
    """
    images = _batch(images)
    matrices = _matrices(matrices, images.shape[0])
    fill_mode = check.choice(fill_mode, "fill_mode", FILL_MODES)
    fill_value = check.real(fill_value, "fill_value")
    out = np.empty_like(images) if out is None else check.output(out, images.shape, images.dtype, inputs=(images,))
    _core.affine_resample(images, out, matrices, fill_mode, fill_value)
    return out


def affine_transform_backward(dy, matrices, *, fill_mode="reflect", out=None):
    """Gradient of :func:`affine_transform` with respect to ``images``, given the gradient ``dy``
    of its output: the adjoint resampling. Each output pixel's gradient goes back to the (up to
    four) input pixels it was interpolated from, with the same bilinear weights, through the same
    ``fill_mode`` (points in a constant fill read no pixel and pass nothing back). Threads own
    whole images: the result is bitwise identical for any thread count.

    Args:
        dy: (batch, height, width, channels), the output's gradient.
        matrices, fill_mode: as given to :func:`affine_transform`.
        out: optional C-contiguous array like ``dy`` (not overlapping it).
    """
    (dy,) = check.float_arrays(dy=dy)
    if dy.ndim != 4:
        raise ValueError(f"Argument `dy` must be (batch, height, width, channels). Received shape {dy.shape}")
    dy = check.contiguous(dy)
    matrices = _matrices(matrices, dy.shape[0])
    fill_mode = check.choice(fill_mode, "fill_mode", FILL_MODES)
    out = np.empty_like(dy) if out is None else check.output(out, dy.shape, dy.dtype, inputs=(dy,))
    _core.affine_resample_backward(dy, out, matrices, fill_mode)
    return out


def random_affine(images, *, seed, offset=0, flip=None, rotation=0.0, zoom=0.0, zoom_width=None, translation=(0.0, 0.0),
                  fill_mode="reflect", fill_value=0.0, out=None):
    """Random flip, then rotation, zoom and translation of every image, in one resampling pass.

    Args:
        flip: None, "horizontal", "vertical" or "horizontal_and_vertical" (each axis flipped
            with probability 1/2).
        rotation: factor of a full turn: f or (low, high).
        zoom: height zoom factor f or (low, high); ``zoom_width`` likewise for the width (None:
            the height's zoom, keeping the aspect ratio).
        translation: (height_factor, width_factor), each f or (low, high).
        seed, offset: the stream and the position of image 0's first draw.
    """
    images = _batch(images)
    matrices = random_matrices(images.shape, seed=seed, offset=offset, flip=flip, rotation=rotation, zoom=zoom,
                               zoom_width=zoom_width, translation=translation)
    return affine_transform(images, matrices, fill_mode=fill_mode, fill_value=fill_value, out=out)


def random_matrices(shape, *, seed, offset=0, flip=None, rotation=0.0, zoom=0.0, zoom_width=None,
                    translation=(0.0, 0.0)):
    """The (batch, 2, 3) matrices that :func:`random_affine` draws for images of ``shape``
    ((batch, height, width, ...)) with these arguments: pass them to :func:`affine_transform`,
    and to :func:`affine_transform_backward` for the gradient."""
    shape = check.shape(shape, "shape")
    if len(shape) < 3:
        raise ValueError(f"Argument `shape` must be (batch, height, width, ...). Received: shape={shape}")
    flip = None if flip is None else check.choice(flip, "flip", FLIP_MODES)
    angle = _factor(rotation, "rotation")
    zoom_h = _factor(zoom, "zoom", bound=1.0)
    zoom_w = None if zoom_width is None else _factor(zoom_width, "zoom_width", bound=1.0)
    if not isinstance(translation, (tuple, list)) or len(translation) != 2:
        raise ValueError(f"Argument `translation` must be (height_factor, width_factor). Received: {translation!r}")
    shift_h = _factor(translation[0], "translation", bound=1.0)
    shift_w = _factor(translation[1], "translation", bound=1.0)
    n, h, w = shape[:3]
    u = _random.uniform((n, DRAWS_PER_IMAGE), seed=seed, offset=offset, dtype=np.float64)

    def pick(bounds, column):
        return bounds[0] + (bounds[1] - bounds[0]) * u[:, column]

    flip_w = np.where((flip in ("horizontal", "horizontal_and_vertical")) & (u[:, 0] < 0.5), -1.0, 1.0)
    flip_h = np.where((flip in ("vertical", "horizontal_and_vertical")) & (u[:, 1] < 0.5), -1.0, 1.0)
    theta = 2 * math.pi * pick(angle, 2)
    scale_h = 1 + pick(zoom_h, 3)
    scale_w = scale_h if zoom_w is None else 1 + pick(zoom_w, 4)
    return _compose(h, w, flip_h, flip_w, theta, scale_h, scale_w, pick(shift_h, 5) * h, pick(shift_w, 6) * w)


def random_flip(images, mode="horizontal_and_vertical", *, seed, offset=0):
    """Flips each image along the chosen axes, each with probability 1/2 (exact pixel copies)."""
    return random_affine(images, seed=seed, offset=offset, flip=check.choice(mode, "mode", FLIP_MODES))


def random_rotation(images, factor, *, seed, offset=0, fill_mode="reflect", fill_value=0.0):
    """Rotates each image by a random fraction of a full turn drawn from ``factor``."""
    return random_affine(images, seed=seed, offset=offset, rotation=factor, fill_mode=fill_mode, fill_value=fill_value)


def random_zoom(images, height_factor, width_factor=None, *, seed, offset=0, fill_mode="reflect", fill_value=0.0):
    """Zooms each image by ``1 + factor`` (positive: out) along the height and the width."""
    return random_affine(images, seed=seed, offset=offset, zoom=height_factor, zoom_width=width_factor,
                         fill_mode=fill_mode, fill_value=fill_value)


def random_translation(images, height_factor, width_factor, *, seed, offset=0, fill_mode="reflect", fill_value=0.0):
    """Shifts each image by random fractions of its height and width."""
    return random_affine(images, seed=seed, offset=offset, translation=(height_factor, width_factor),
                         fill_mode=fill_mode, fill_value=fill_value)


def _batch(images):
    (images,) = check.float_arrays(images=images)
    if images.ndim != 4:
        raise ValueError(f"Argument `images` must be (batch, height, width, channels). Received shape {images.shape}")
    return check.contiguous(images)


def _matrices(matrices, batch):
    """Validated (batch, 6) float64 matrices from a (batch, 2, 3) array-like."""
    matrices = np.ascontiguousarray(matrices, dtype=np.float64)
    if matrices.shape != (batch, 2, 3):
        raise ValueError(f"Argument `matrices` must have shape {(batch, 2, 3)}. Received shape {matrices.shape}")
    if not np.all(np.isfinite(matrices)):
        raise ValueError("Argument `matrices` must be finite")
    return matrices.reshape(batch, 6)


def _factor(value, name, bound=None):
    """Keras's factor: f -> (-f, f), or a (low, high) pair; |values| <= bound when given."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"Argument `{name}` must be a number or a (low, high) pair. Received: {name}={value!r}")
        low, high = (check.real(v, name) for v in value)
    else:
        high = check.real(value, name)
        low = -high
    if low > high or (bound is not None and not -bound <= low <= high <= bound):
        limit = f" within [-{bound}, {bound}]" if bound is not None else ""
        raise ValueError(f"Argument `{name}` must give low <= high{limit}. Received: {name}={value!r}")
    return low, high


def _compose(h, w, flip_h, flip_w, theta, scale_h, scale_w, shift_h, shift_w):
    """(n, 2, 3) inverse maps: input point = center + F R Z (output point - shift - center), the
    stages in order flip, rotation, zoom, translation (each maps output points back to input)."""
    n = len(theta)
    cos, sin = np.cos(theta), np.sin(theta)
    linear = np.empty((n, 2, 2))
    # F @ R @ Z with F = diag(flip_h, flip_w), R = [[cos, sin], [-sin, cos]], Z = diag(scale_h, scale_w)
    linear[:, 0, 0] = flip_h * cos * scale_h
    linear[:, 0, 1] = flip_h * sin * scale_w
    linear[:, 1, 0] = -flip_w * sin * scale_h
    linear[:, 1, 1] = flip_w * cos * scale_w
    center = np.array([(h - 1) / 2, (w - 1) / 2])
    origin = -(center + np.stack([shift_h, shift_w], axis=1))  # out - shift - center = out + origin
    matrices = np.empty((n, 2, 3))
    matrices[:, :, :2] = linear
    matrices[:, :, 2] = center + np.einsum("nij,nj->ni", linear, origin)
    return matrices
