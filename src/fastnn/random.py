"""Counter-based random numbers: Philox4x32-10 and the fills built on it.

Every draw is a pure function of ``(seed, position)``, so results are bitwise identical for any
thread count, on any machine and on every ISA path, and any element can be computed without
computing the others.

The stream layout (the same in every kernel of fastnn):

- A stream is named by a 64-bit ``seed``; the Philox key is ``(seed % 2**32, seed // 2**32)``.
- Each Philox block yields four 32-bit words. A kind of draw that uses ``w`` words per value
  packs ``4 // w`` values per block: the value at position ``p`` comes from block
  ``b = p // (4 // w)``, words ``(p % (4 // w)) * w`` onwards, and block ``b`` is
  ``philox4x32(counter=(b % 2**32, b // 2**32, attempt, 0), key)``.
- ``attempt`` is 0 except when a value is redrawn (truncated normal's rejection step).
- A call with ``(seed, offset)`` places its element ``i`` (C order) at position
  ``offset + i``; a window of a longer call therefore equals a call with the matching offset.

Per kind: dropout and :func:`random_bits` use one word per value (4 per block); a float32
uniform uses the top 24 bits of one word; a float64 uniform the top 53 bits of two words
(2 per block); normal values come two per block by the Box-Muller transform of two 53-bit
uniforms, ``u1`` in (0, 1] from words 0-1 and ``u2`` in [0, 1) from words 2-3, the even
position taking ``sqrt(-2 ln u1) cos(2 pi u2)`` and the odd one the sine; truncated normal
redraws a value beyond two standard deviations from attempt 1, 2, ... of its block.

Reference: J. K. Salmon, M. A. Moraes, R. O. Dror and D. E. Shaw, "Parallel random numbers:
as easy as 1, 2, 3", SC 2011.
"""

from __future__ import annotations

import secrets

import numpy as np

from . import _core
from . import _validation as check

__all__ = ["philox4x32", "random_bits", "uniform", "normal", "truncated_normal", "new_seed"]


def new_seed():
    """A fresh 64-bit seed from the operating system's entropy source."""
    return secrets.randbits(64)


def philox4x32(counter, key):
    """One Philox4x32-10 block: four uint32 counter words and two key words in, four words out.

    Example:
        >>> fastnn.random.philox4x32([0, 0, 0, 0], [0, 0])  # Random123's first known answer
        array([1713891541, 3781805453, 3159862348, 2600524760], dtype=uint32)
    """
    counter = _words(counter, 4, "counter")
    key = _words(key, 2, "key")
    return np.array(_core.philox4x32(counter, key), dtype=np.uint32)


def random_bits(shape, *, seed, offset=0):
    """The raw stream: a uint32 array whose element ``i`` is the 32-bit draw at ``offset + i``."""
    out = np.empty(check.shape(shape), np.uint32)
    _core.random_bits(out, check.seed(seed), check.offset(offset, out.size))
    return out


def uniform(shape, low=0.0, high=1.0, *, seed, offset=0, dtype=np.float32):
    """Uniform values in ``[low, high)`` (``high`` is never returned, also after rounding)."""
    out = np.empty(check.shape(shape), check.float_dtype(dtype))
    low = check.representable(check.real(low, "low"), "low", out.dtype)
    high = check.representable(check.real(high, "high"), "high", out.dtype)
    if not out.dtype.type(low) < out.dtype.type(high) or not np.isfinite(high - low):
        raise ValueError(f"Arguments must satisfy low < high with a finite span in {out.dtype}. Received: low={low}, high={high}")
    _core.fill_uniform(out, low, high, check.seed(seed), check.offset(offset, out.size))
    return out


def normal(shape, mean=0.0, std=1.0, *, seed, offset=0, dtype=np.float32):
    """Normal values N(mean, std²) (Box-Muller; tails exact to about 8.5 standard deviations)."""
    out = np.empty(check.shape(shape), check.float_dtype(dtype))
    mean, std = _mean_and_std(mean, std, out.dtype)
    _core.fill_normal(out, mean, std, check.seed(seed), check.offset(offset, out.size))
    return out


def truncated_normal(shape, mean=0.0, std=1.0, *, seed, offset=0, dtype=np.float32):
    """N(mean, std²) restricted to ``[mean - 2 std, mean + 2 std]``: values beyond are redrawn.

    ``std`` is the standard deviation of the normal before truncation (as in Keras and
    TensorFlow); the values' own standard deviation is about ``0.87962566 * std``.
    """
    out = np.empty(check.shape(shape), check.float_dtype(dtype))
    mean, std = _mean_and_std(mean, std, out.dtype)
    _core.fill_truncated_normal(out, mean, std, check.seed(seed), check.offset(offset, out.size))
    return out


def _mean_and_std(mean, std, dtype):
    mean = check.representable(check.real(mean, "mean"), "mean", dtype)
    std = check.representable(check.real(std, "std"), "std", dtype)
    if std < 0:
        raise ValueError(f"Argument `std` must be >= 0. Received: std={std}")
    return mean, std


def _words(values, count, name):
    try:
        words = [check.integer(value, name) for value in values]
    except TypeError:
        raise TypeError(f"Argument `{name}` must be a sequence of {count} integers. Received: {name}={values!r}") from None
    if len(words) != count or not all(0 <= word < 2**32 for word in words):
        raise ValueError(f"Argument `{name}` must hold {count} integers in [0, 2**32). Received: {name}={values!r}")
    return words
