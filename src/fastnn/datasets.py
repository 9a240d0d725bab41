"""Toy datasets for trying out models: synthetic 2-D problems, a train/test split, and 8x8 digits.

Every generator returns ``(x, y)``: ``x`` a float array of shape ``(n_samples, n_features)``
(float32 by default), ``y`` int64 class labels. All randomness comes from fastnn's
counter-based generator (:mod:`fastnn.random`), so a given ``seed`` (an int in [0, 2**64))
gives bitwise the same data on every machine; ``seed=None`` draws a fresh seed from the OS.

The geometry is computed in float64 with only correctly rounded IEEE-754 ``+ - * /`` and exact
``floor`` (a port of the deterministic sin/cos of fastnn's kernels, accurate to a few ulp),
never with the platform's libm, so it too is bitwise the same everywhere; the result is rounded
to ``dtype`` once.

Stream layout, for a call with ``seed``:

- coordinate noise: the :func:`fastnn.random.normal` stream from position 0 (C order over the
  ``(n_samples, 2)`` array), scaled by ``noise``;
- shuffling: ``fastnn.random.permutation(n_samples, seed=seed, offset=2**62)`` (the stable
  argsort of 64-bit keys from the :func:`fastnn.random.random_bits` stream at positions
  ``2**62`` onwards). Those positions lie in Philox blocks ``>= 2**60``, so the shuffle never
  shares a block with the noise. :func:`train_test_split` permutes its rows the same way.

:func:`load_digits` reads the copy of the UCI digits shipped inside the package (no download);
its provenance and license are in that function's docstring.
"""

from __future__ import annotations

import io
import math
import numbers
from importlib import resources

import numpy as np

from . import _validation as check
from . import random as _random

__all__ = ["make_circles", "make_moons", "make_spirals", "train_test_split", "load_digits"]

# First position of the shuffle keys in the random_bits stream (Philox block 2**60).
_SHUFFLE_OFFSET = 2**62

# The embedded digits: images (1797, 64) uint8 in 0..16, labels (1797,) uint8 in 0..9.
_DIGITS_FILE = "digits.npz"
_DIGITS_COUNT = 1797


def make_circles(n_samples=100, *, noise=0.0, factor=0.8, shuffle=True, seed=None, dtype=np.float32):
    """Two concentric circles: a binary problem that no linear classifier solves.

    As scikit-learn's ``make_circles``: ``n_samples // 2`` points (label 0) evenly spaced on the
    unit circle, starting at angle 0; the other ``n_samples - n_samples // 2`` (label 1) evenly
    spaced on the circle of radius ``factor``. Then the rows are shuffled (when ``shuffle``)
    and Gaussian noise of standard deviation ``noise`` is added to every coordinate.

    Args:
        n_samples: Total number of points, a positive int.
        noise: Standard deviation of the Gaussian noise added to each coordinate, >= 0.
        factor: Radius of the inner circle, in (0, 1).
        shuffle: Whether to shuffle the rows (otherwise all label 0 first, by angle).
        seed: int in [0, 2**64) for reproducible data, or None for a fresh seed.
        dtype: float32 or float64, the dtype of ``x``.

    Returns:
        ``(x, y)``: ``x`` of shape ``(n_samples, 2)`` and ``dtype``; ``y`` of shape
        ``(n_samples,)``, int64 in {0, 1} (0 = outer circle, 1 = inner circle).

    Raises:
        TypeError: an argument of the wrong type (a float ``n_samples``, an integer ``dtype``...).
        ValueError: an argument out of range (``noise < 0``, ``factor`` outside (0, 1)...).

    Example:
        >>> x, y = fastnn.datasets.make_circles(200, noise=0.05, factor=0.5, seed=0)
        >>> x.shape, x.dtype, y.shape, np.bincount(y)
        ((200, 2), dtype('float32'), (200,), array([100, 100]))
    """
    n_samples = _count(n_samples, "n_samples")
    noise = _noise(noise)
    factor = check.real(factor, "factor")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"Argument `factor` must be in (0, 1). Received: factor={factor}")
    shuffle = check.boolean(shuffle, "shuffle")
    dtype = check.float_dtype(dtype)
    seed = _seed(seed)

    n_out = n_samples // 2
    n_in = n_samples - n_out
    sin_out, cos_out = _sincos_turns(np.arange(n_out) / max(n_out, 1))
    sin_in, cos_in = _sincos_turns(np.arange(n_in) / max(n_in, 1))
    x = np.concatenate([np.stack([cos_out, sin_out], axis=1), np.stack([cos_in, sin_in], axis=1) * factor])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    return _finish(x, y, noise, shuffle, seed, dtype)


def make_moons(n_samples=100, *, noise=0.0, shuffle=True, seed=None, dtype=np.float32):
    """Two interleaving half circles ("moons"), as scikit-learn's ``make_moons``.

    ``n_samples // 2`` points (label 0) evenly spaced, ends included, on the upper half of the
    unit circle centred at (0, 0), from angle 0 to pi: ``(cos t, sin t)``; the other
    ``n_samples - n_samples // 2`` (label 1) likewise on the lower half of the unit circle
    centred at (1, 0.5): ``(1 - cos t, 0.5 - sin t)``. Then the rows are shuffled (when
    ``shuffle``) and Gaussian noise of standard deviation ``noise`` is added to every coordinate.

    Args:
        n_samples: Total number of points, a positive int.
        noise: Standard deviation of the Gaussian noise added to each coordinate, >= 0.
        shuffle: Whether to shuffle the rows (otherwise all label 0 first, by angle).
        seed: int in [0, 2**64) for reproducible data, or None for a fresh seed.
        dtype: float32 or float64, the dtype of ``x``.

    Returns:
        ``(x, y)``: ``x`` of shape ``(n_samples, 2)`` and ``dtype``; ``y`` of shape
        ``(n_samples,)``, int64 in {0, 1} (0 = upper moon, 1 = lower moon).

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: an argument out of range (``n_samples < 1``, ``noise < 0``...).

    Example:
        >>> x, y = fastnn.datasets.make_moons(100, noise=0.1, seed=0)
        >>> x.shape, np.bincount(y)
        ((100, 2), array([50, 50]))
    """
    n_samples = _count(n_samples, "n_samples")
    noise = _noise(noise)
    shuffle = check.boolean(shuffle, "shuffle")
    dtype = check.float_dtype(dtype)
    seed = _seed(seed)

    n_out = n_samples // 2
    n_in = n_samples - n_out
    sin_out, cos_out = _sincos_turns(np.arange(n_out) / (2 * max(n_out - 1, 1)))  # [0, pi], ends included
    sin_in, cos_in = _sincos_turns(np.arange(n_in) / (2 * max(n_in - 1, 1)))
    x = np.concatenate([np.stack([cos_out, sin_out], axis=1), np.stack([1.0 - cos_in, 0.5 - sin_in], axis=1)])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    return _finish(x, y, noise, shuffle, seed, dtype)


def make_spirals(n_samples=100, *, n_classes=2, noise=0.0, turns=1.0, shuffle=True, seed=None, dtype=np.float32):
    """Interleaved spiral arms, one per class (the CS231n "spiral data" classification toy).

    Class ``j`` gets ``m_j`` points, ``n_samples // n_classes`` each and one more for the first
    ``n_samples % n_classes`` classes. Its point ``i`` (``i = 1 .. m_j``) lies at radius
    ``r = i / m_j`` and angle ``2 pi (turns * r + j / n_classes)``: ``(r cos, r sin)``. So every
    arm is an Archimedean spiral that starts near the origin, winds ``turns`` times
    counter-clockwise out to radius 1, and the arms are rotated ``1 / n_classes`` of a turn apart.
    Then the rows are shuffled (when ``shuffle``) and Gaussian noise of standard deviation
    ``noise`` is added to every coordinate (CS231n perturbs the angle instead; adding noise to
    the coordinates keeps ``noise`` meaning the same in every generator here).

    Args:
        n_samples: Total number of points, an int >= ``n_classes``.
        n_classes: Number of arms (classes), an int >= 2.
        noise: Standard deviation of the Gaussian noise added to each coordinate, >= 0.
        turns: How many times each arm winds around the origin, a finite number > 0.
        shuffle: Whether to shuffle the rows (otherwise by class, then by radius).
        seed: int in [0, 2**64) for reproducible data, or None for a fresh seed.
        dtype: float32 or float64, the dtype of ``x``.

    Returns:
        ``(x, y)``: ``x`` of shape ``(n_samples, 2)`` and ``dtype``; ``y`` of shape
        ``(n_samples,)``, int64 in ``0 .. n_classes - 1``, class sizes differing by at most one.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: an argument out of range (``n_classes < 2``, ``n_samples < n_classes``...).

    Example:
        >>> x, y = fastnn.datasets.make_spirals(300, n_classes=3, noise=0.02, seed=0)
        >>> x.shape, np.bincount(y)
        ((300, 2), array([100, 100, 100]))
    """
    n_classes = _count(n_classes, "n_classes", minimum=2)
    n_samples = _count(n_samples, "n_samples", minimum=n_classes, what="n_classes")
    noise = _noise(noise)
    turns = check.real(turns, "turns")
    if not turns > 0.0:
        raise ValueError(f"Argument `turns` must be > 0. Received: turns={turns}")
    shuffle = check.boolean(shuffle, "shuffle")
    dtype = check.float_dtype(dtype)
    seed = _seed(seed)

    sizes = np.full(n_classes, n_samples // n_classes, np.int64)
    sizes[: n_samples % n_classes] += 1
    y = np.repeat(np.arange(n_classes, dtype=np.int64), sizes)
    starts = np.cumsum(sizes) - sizes
    radius = (np.arange(n_samples) - np.repeat(starts, sizes) + 1) / np.repeat(sizes, sizes).astype(np.float64)
    sine, cosine = _sincos_turns(turns * radius + y / n_classes)
    x = np.stack([radius * cosine, radius * sine], axis=1)
    return _finish(x, y, noise, shuffle, seed, dtype)


def train_test_split(*arrays, test_size=0.25, shuffle=True, stratify=None, seed=None):
    """Splits arrays into random train and test subsets, as scikit-learn's ``train_test_split``.

    All arrays are indexed along their first axis with the same rows, so they stay aligned.
    A float ``test_size`` puts ``ceil(test_size * n)`` rows in the test set, an int exactly that
    many; both sets must be non-empty. With ``shuffle``, the rows are permuted by fastnn's
    generator (``fastnn.random.permutation``; see the module docstring) and both sets come out in
    that random order; without it the test set is the last rows and the order is kept.

    With ``stratify`` (class labels, one per row) each class's test count is its share
    ``test_size * class_count`` rounded down or up (largest remainders first, so the total is
    exact): every class's proportion is kept to within one sample on both sides. Which rows of a
    class go to the test set is random.

    Args:
        *arrays: One or more arrays (or array-likes) with the same length ``n >= 2`` along axis 0.
        test_size: A float in (0, 1), the fraction of rows in the test set, or an int in
            [1, n - 1], their number. Either way the training set must keep at least one row.
        shuffle: Whether to shuffle before splitting. Must be True when ``stratify`` is given.
        stratify: None, or a 1-D array-like of ``n`` class labels to stratify by.
        seed: int in [0, 2**64) for a reproducible split, or None for a fresh seed.

    Returns:
        A list of ``2 * len(arrays)`` NumPy arrays: ``[a_train, a_test, b_train, b_test, ...]``,
        each keeping its array's dtype and trailing shape: ``(n_train, ...)`` and ``(n_test, ...)``.

    Raises:
        TypeError: no arrays, a 0-d array, or a ``test_size``/``shuffle``/``seed`` of the wrong type.
        ValueError: arrays of different lengths, a ``test_size`` that leaves a set empty, a
            ``stratify`` of the wrong length or shape, or ``stratify`` with ``shuffle=False``.

    Example:
        >>> x, y = fastnn.datasets.make_moons(100, seed=0)
        >>> x_train, x_test, y_train, y_test = fastnn.datasets.train_test_split(
        ...     x, y, test_size=0.2, stratify=y, seed=0)
        >>> x_train.shape, x_test.shape, np.bincount(y_test)
        ((80, 2), (20, 2), array([10, 10]))
    """
    if not arrays:
        raise TypeError("train_test_split needs at least one array")
    arrays = [np.asarray(array) for array in arrays]
    for i, array in enumerate(arrays):
        if array.ndim == 0:
            raise TypeError(f"Argument `arrays[{i}]` must have at least one dimension. Received a 0-d array: {array!r}")
    lengths = [len(array) for array in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"All arrays must have the same length (first axis). Received lengths: {lengths}")
    n = lengths[0]
    shuffle = check.boolean(shuffle, "shuffle")
    n_test = _test_count(test_size, n)
    n_train = n - n_test

    if stratify is not None:
        stratify = np.asarray(stratify)
        if stratify.ndim != 1 or len(stratify) != n:
            raise ValueError(
                f"Argument `stratify` must be a 1-D array of {n} labels (one per row). Received shape {stratify.shape}"
            )
        if not shuffle:
            raise ValueError("Argument `stratify` requires shuffle=True. Received: shuffle=False")

    if not shuffle:
        if seed is not None:
            check.seed(seed)  # unused, but a bad one is still an error
        train, test = np.arange(n_train), np.arange(n_train, n)
    else:
        order = _permutation(n, _seed(seed))
        if stratify is None:
            train, test = order[:n_train], order[n_train:]
        else:
            _, codes = np.unique(stratify, return_inverse=True)
            is_test = _stratified_test_mask(codes.reshape(-1)[order], n_test)
            train, test = order[~is_test], order[is_test]

    result = []
    for array in arrays:
        result += [array[train], array[test]]
    return result


def load_digits(*, as_images=False, dtype=np.float32):
    """The 8x8 handwritten digits: 1,797 images of the digits 0-9, shipped with fastnn (offline).

    This is the UCI "Optical Recognition of Handwritten Digits" data (the 1,797 images of its
    test part, ``optdigits.tes``), as bundled by scikit-learn (``load_digits``), in the same
    order. Each image counts the "on" pixels of a 32x32 bitmap in 4x4 blocks, giving integers
    0..16; here they are divided by 16, so every pixel is one of the 17 values ``k / 16`` (exact
    in float32 and float64).

    Source and license: E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits",
    UCI Machine Learning Repository, 1998, https://doi.org/10.24432/C50P49. Licensed under
    CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); fastnn redistributes it unchanged
    apart from the file format (``fastnn/data/digits.npz``: uint8 ``images`` (1797, 64) and
    ``labels`` (1797,)).

    Args:
        as_images: False for flat rows ``(1797, 64)``; True for channels-last images
            ``(1797, 8, 8, 1)`` (row-major pixels, as in the flat rows).
        dtype: float32 or float64, the dtype of ``x``.

    Returns:
        ``(x, y)``: ``x`` of shape ``(1797, 64)`` or ``(1797, 8, 8, 1)``, values in [0, 1];
        ``y`` of shape ``(1797,)``, int64 in 0..9. Fresh arrays on every call.

    Raises:
        TypeError: ``as_images`` not a bool, or ``dtype`` not float32/float64.

    Example:
        >>> x, y = fastnn.datasets.load_digits()
        >>> x.shape, x.dtype, float(x.max()), y[:10]
        ((1797, 64), dtype('float32'), 1.0, array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
        >>> fastnn.datasets.load_digits(as_images=True)[0].shape
        (1797, 8, 8, 1)
    """
    as_images = check.boolean(as_images, "as_images")
    dtype = check.float_dtype(dtype)
    images, labels = _read_digits()
    x = images.astype(dtype) * dtype.type(1.0 / 16.0)  # exact: k / 16 is a dyadic fraction
    if as_images:
        x = x.reshape(_DIGITS_COUNT, 8, 8, 1)
    return x, labels.astype(np.int64)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _read_digits():
    """The embedded (images, labels) as uint8 arrays, checked for shape and range."""
    blob = (resources.files("fastnn") / "data" / _DIGITS_FILE).read_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    if (
        images.shape != (_DIGITS_COUNT, 64) or labels.shape != (_DIGITS_COUNT,)
        or images.dtype != np.uint8 or labels.dtype != np.uint8
        or images.max() > 16 or labels.max() > 9
    ):
        raise RuntimeError(f"The embedded digits file fastnn/data/{_DIGITS_FILE} is damaged; reinstall fastnn")
    return images, labels


def _finish(x, y, noise, shuffle, seed, dtype):
    """Shuffles the rows of (x, y), adds the coordinate noise, rounds x to dtype once."""
    if shuffle:
        order = _permutation(len(y), seed)
        x, y = x[order], y[order]
    if noise > 0.0:
        x = x + _random.normal(x.shape, 0.0, noise, seed=seed, offset=0, dtype=np.float64)
    x = x + 0.0  # -0.0 -> +0.0, so equal data are equal bytes
    return np.ascontiguousarray(x.astype(dtype)), np.ascontiguousarray(y)


def _permutation(n, seed):
    """A random permutation of range(n) from the shuffle positions of stream `seed`."""
    return _random.permutation(n, seed=seed, offset=_SHUFFLE_OFFSET)


def _stratified_test_mask(codes, n_test):
    """For rows in random order with class codes 0..k-1: which go to the test set.

    Class c gets floor(q_c) or ceil(q_c) test rows, q_c = n_test * count_c / n (Hamilton's
    largest-remainder rounding, ties to the lower class code), taken from its first rows.
    """
    n = len(codes)
    counts = np.bincount(codes)
    scaled = n_test * counts  # exact integers: quota = scaled / n
    per_class = scaled // n
    remainders = scaled - per_class * n
    extra = n_test - int(per_class.sum())
    per_class[np.argsort(-remainders, kind="stable")[:extra]] += 1
    # rank of each row among the rows of its class, in the given order
    by_class = np.argsort(codes, kind="stable")
    rank = np.empty(n, np.int64)
    rank[by_class] = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    return rank < per_class[codes]


def _sincos_turns(u):
    """sin and cos of 2*pi*u (float64 arrays), bitwise the same on every machine.

    A NumPy port of fastnn's detmath::sincos_turns: exact reduction to the nearest quarter turn,
    then Taylor series of degree 17/18 on [-pi/4, pi/4], using only correctly rounded + - *.
    """
    u = np.asarray(u, np.float64)
    quarters = np.floor(u * 4.0 + 0.5)
    t = (u * 4.0 - quarters) * 0.25  # exact, in [-1/8, 1/8] turns
    a = t * 6.28318530717958647692
    a2 = a * a
    p = np.full_like(a, 1.0 / 355687428096000.0)
    for coefficient in (-1.0 / 1307674368000.0, 1.0 / 6227020800.0, -1.0 / 39916800.0,
                        1.0 / 362880.0, -1.0 / 5040.0, 1.0 / 120.0, -1.0 / 6.0):
        p = p * a2 + coefficient
    sin_a = a + a * (a2 * p)
    q = np.full_like(a, -1.0 / 6402373705728000.0)
    for coefficient in (1.0 / 20922789888000.0, -1.0 / 87178291200.0, 1.0 / 479001600.0,
                        -1.0 / 3628800.0, 1.0 / 40320.0, -1.0 / 720.0, 1.0 / 24.0, -0.5):
        q = q * a2 + coefficient
    cos_a = 1.0 + a2 * q
    quadrant = np.mod(quarters, 4.0).astype(np.int64)
    sine = np.choose(quadrant, [sin_a, cos_a, -sin_a, -cos_a])
    cosine = np.choose(quadrant, [cos_a, -sin_a, -cos_a, sin_a])
    return sine + 0.0, cosine + 0.0


def _count(value, name, minimum=1, what=None):
    """An int >= minimum (`what` names the argument the minimum comes from)."""
    value = check.integer(value, name)
    if value < minimum:
        bound = f"{what} ({minimum})" if what else str(minimum)
        raise ValueError(f"Argument `{name}` must be >= {bound}. Received: {name}={value}")
    return value


def _noise(value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"Argument `noise` must be a real number. Received: noise={value!r}")
    if not math.isfinite(value):
        raise ValueError(f"Argument `noise` must be finite. Received: noise={value}")
    if value < 0:
        raise ValueError(f"Argument `noise` must be >= 0. Received: noise={value}")
    return float(value)


def _test_count(test_size, n):
    """The number of test rows for `test_size` (float fraction or int count) of n rows."""
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"Argument `test_size` must be a float in (0, 1) or an int. Received: test_size={test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n - 1:
            raise ValueError(
                f"Argument `test_size` as an int must be in [1, n_samples - 1] = [1, {n - 1}] so that both sets "
                f"are non-empty. Received: test_size={test_size} (n_samples={n})"
            )
        return n_test
    fraction = float(test_size)
    if not 0.0 < fraction < 1.0:  # also rejects NaN
        raise ValueError(f"Argument `test_size` as a float must be in (0, 1). Received: test_size={test_size}")
    n_test = math.ceil(fraction * n)
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"Argument `test_size` leaves an empty set: ceil({test_size} * {n}) = {n_test} test rows of "
            f"n_samples={n}. Received: test_size={test_size}"
        )
    return n_test


def _seed(seed):
    return _random.new_seed() if seed is None else check.seed(seed)
