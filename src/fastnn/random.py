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

__all__ = [
    "philox4x32", "random_bits", "uniform", "normal", "truncated_normal", "permutation", "derive_seed", "new_seed",
]

_MASK32 = 0xFFFFFFFF
_DERIVE_TAG = 0x5EED5EED  # counter word 2 of derivation blocks: never used by a fill's block


def new_seed():
    """A fresh 64-bit seed from the operating system's entropy source."""
    return secrets.randbits(64)


def derive_seed(seed, *path):
    """A seed for the sub-stream named by ``path`` (non-negative ints), drawn from stream ``seed``.

    Each step is one Philox block, ``philox4x32((p % 2**32, p // 2**32, 0x5EED5EED, 0), key(seed))``,
    whose first two words form the next seed. Models use it to give every layer, parameter and
    epoch its own independent stream from one user seed.

    Example:
        >>> fastnn.random.derive_seed(42, 3, 1) == fastnn.random.derive_seed(42, 3, 1)
        True
    """
    seed = check.seed(seed)
    for index, part in enumerate(path):
        part = check.seed(part, f"path[{index}]")
        words = _core.philox4x32([part & _MASK32, part >> 32, _DERIVE_TAG, 0], [seed & _MASK32, seed >> 32])
        seed = words[0] | (words[1] << 32)
    return seed


def permutation(n, *, seed, offset=0):
    """A uniformly random permutation of ``range(n)``: the stable argsort of 64-bit draws.

    Position ``offset + 2 i`` and ``offset + 2 i + 1`` give element ``i``'s key (low and high
    words), so the result is a pure function of ``(n, seed, offset)`` on every machine.
    """
    n = check.integer(n, "n", minimum=0)
    words = random_bits(2 * n, seed=seed, offset=offset).astype(np.uint64)
    keys = words[0::2] | (words[1::2] << np.uint64(32))
    return np.argsort(keys, kind="stable")


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
    std = check.representable(check.real(std, "std", minimum=0), "std", dtype)
    return mean, std


def _words(values, count, name):
    try:
        words = [check.integer(value, name) for value in values]
    except TypeError:
        raise TypeError(f"Argument `{name}` must be a sequence of {count} integers. Received: {name}={values!r}") from None
    if len(words) != count or not all(0 <= word < 2**32 for word in words):
        raise ValueError(f"Argument `{name}` must hold {count} integers in [0, 2**32). Received: {name}={values!r}")
    return words
