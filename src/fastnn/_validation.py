"""Argument checks shared by the public modules.

Every check raises with a message that names the argument and echoes what was received
("Argument `rate` must be in [0, 1). Received: rate=1.5"). Type errors (wrong kind of object,
integer or complex dtypes) raise TypeError; wrong values, shapes and layouts raise ValueError.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from . import _core

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)  # canonical instances, for `is`
UINT64_LIMIT = 2**64


def float_dtype(dtype, name="dtype"):
    """Returns np.dtype(float32|float64) for dtype-likes such as np.float32 or "float64"."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"Argument `{name}` must be float32 or float64. Received: {name}={dtype!r}") from None
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"Argument `{name}` must be float32 or float64. Received: {name}={dtype!r}")
    return resolved


def float_arrays(**named):
    """Converts array-likes to float arrays of one common dtype.

    The rule for mixed precision: operands that are already NumPy arrays must agree on float32
    or float64 (mixing them raises TypeError rather than silently promoting or truncating);
    other array-likes (lists, scalars) are converted to that dtype, or to float64 when no
    operand is an array. Integer, boolean, complex and object arrays raise TypeError.
    Non-native byte order is converted. None passes through unchanged (optional operands).
    """
    # Fast path, the common case: plain arrays already of one native float dtype (a few
    # microseconds saved on every op call, which small layers feel).
    dtype = None
    for value in named.values():
        if value is None:
            continue
        if type(value) is not np.ndarray or not (value.dtype is _FLOAT32 or value.dtype is _FLOAT64):
            break
        if dtype is None:
            dtype = value.dtype
        elif value.dtype is not dtype:
            break
    else:
        return list(named.values())
    dtypes = {}
    for name, value in named.items():
        if isinstance(value, np.ndarray):
            if value.dtype.kind != "f" or value.dtype.itemsize not in (4, 8):
                raise TypeError(
                    f"Argument `{name}` must be a float32 or float64 array. Received dtype {value.dtype}"
                )
            dtypes[name] = np.dtype(value.dtype.type)
    if len(set(dtypes.values())) > 1:
        described = ", ".join(f"{name} is {dtype}" for name, dtype in dtypes.items())
        raise TypeError(f"Operands must share one float dtype, but {described}; cast one with .astype()")
    dtype = next(iter(dtypes.values()), np.dtype(np.float64))
    result = []
    for name, value in named.items():
        if value is None:
            pass
        elif not isinstance(value, np.ndarray):
            try:
                converted = np.asarray(value)
            except Exception as error:  # ragged lists and the like
                raise TypeError(f"Argument `{name}` could not be converted to an array: {error}") from None
            if converted.dtype.kind not in "fiu" or converted.dtype == np.bool_:
                raise TypeError(f"Argument `{name}` must be numeric. Received dtype {converted.dtype}")
            value = converted.astype(dtype)
        elif not value.dtype.isnative:
            value = value.astype(dtype)
        result.append(value)
    return result


def matrix(a, name):
    """Checks that `a` is 2-D; returns an array whose strides are whole items (copies if not)."""
    if a.ndim != 2:
        raise ValueError(f"Argument `{name}` must be a 2-D array. Received shape {a.shape}")
    if not a.flags.c_contiguous and any(stride % a.itemsize for stride in a.strides):
        a = np.ascontiguousarray(a)
    return a


def contiguous(a):
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def boolean(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Argument `{name}` must be True or False. Received: {name}={value!r}")
    return bool(value)


def real(value, name, minimum=None, *, exclusive=False):
    """A finite real number (bools rejected), optionally >= minimum (> minimum when exclusive)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"Argument `{name}` must be a real number. Received: {name}={value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be finite. Received: {name}={value}")
    if minimum is not None and (value <= minimum if exclusive else value < minimum):
        raise ValueError(f"Argument `{name}` must be {'>' if exclusive else '>='} {minimum}. Received: {name}={value}")
    return value


def representable(value, name, dtype):
    """`value` (already a finite float) must stay finite when rounded to `dtype`."""
    with np.errstate(over="ignore"):
        rounded = np.array(value, dtype=np.float64).astype(dtype)
    if not np.isfinite(rounded):
        raise ValueError(f"Argument `{name}` overflows {np.dtype(dtype)}. Received: {name}={value}")
    return value


def integer(value, name, minimum=None):
    """An int (bools rejected), optionally >= minimum."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Argument `{name}` must be an integer. Received: {name}={value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"Argument `{name}` must be an integer. Received: {name}={value!r}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"Argument `{name}` must be >= {minimum}. Received: {name}={value}")
    return value


def rate(value, name="rate"):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"Argument `{name}` must be a number in [0, 1). Received: {name}={value!r}")
    value = float(value)
    if not 0.0 <= value < 1.0:  # also rejects NaN
        raise ValueError(f"Argument `{name}` must be in [0, 1). Received: {name}={value}")
    return value


def seed(value, name="seed"):
    value = integer(value, name)
    if not 0 <= value < UINT64_LIMIT:
        raise ValueError(f"Argument `{name}` must be in [0, 2**64). Received: {name}={value}")
    return value


def offset(value, size, name="offset"):
    """A stream position in [0, 2**64) whose last element, offset + size - 1, stays below 2**64."""
    value = integer(value, name)
    if value < 0 or value >= UINT64_LIMIT or value + size > UINT64_LIMIT:
        raise ValueError(
            f"Argument `{name}` must be in [0, 2**64) with {name} + size <= 2**64. "
            f"Received: {name}={value} (size {size})"
        )
    return value


def shape(value, name="shape"):
    """An int or a sequence of non-negative ints, as a tuple."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (value,)
    try:
        dims = tuple(value)
    except TypeError:
        raise TypeError(f"Argument `{name}` must be an int or a sequence of ints. Received: {name}={value!r}") from None
    for dim in dims:
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (numbers.Integral, np.integer)):
            raise TypeError(f"Argument `{name}` must contain only integers. Received: {name}={value!r}")
        if dim < 0:
            raise ValueError(f"Argument `{name}` must contain only non-negative sizes. Received: {name}={value!r}")
    return tuple(int(dim) for dim in dims)


def choice(value, name, allowed):
    """One of the names in `allowed`: a non-string raises TypeError, an unknown name ValueError."""
    if isinstance(value, str) and value in allowed:  # the common case first: no message built
        return value
    options = ", ".join(repr(option) for option in allowed)
    if not isinstance(value, str):
        raise TypeError(f"Argument `{name}` must be one of {options}. Received: {name}={value!r}")
    raise ValueError(f"Argument `{name}` must be one of {options}. Received: {name}={value!r}")


def output(out, shape_, dtype, name="out", inputs=(), may_alias=()):
    """Checks a caller-provided output array: it is written in place, never via a temporary.

    It must be an ndarray of exactly `shape_` and `dtype`, C-contiguous, aligned and writeable,
    and must not overlap any of `inputs`, except that it may be exactly one of `may_alias`.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"Argument `{name}` must be a NumPy array or None. Received: {type(out).__name__}")
    if out.shape != tuple(shape_):
        raise ValueError(f"Argument `{name}` must have shape {tuple(shape_)}. Received shape {out.shape}")
    if out.dtype != dtype:
        raise ValueError(f"Argument `{name}` must have dtype {np.dtype(dtype)}. Received dtype {out.dtype}")
    if not out.flags.c_contiguous or not out.flags.aligned:
        raise ValueError(f"Argument `{name}` must be C-contiguous and aligned")
    if not out.flags.writeable:
        raise ValueError(f"Argument `{name}` is read-only")
    for array in may_alias:
        if _same_memory(out, array):
            return out
    if _core.overlaps_any(out, inputs):  # np.may_share_memory's bounds test, for all inputs at once
        raise ValueError(f"Argument `{name}` overlaps an input; pass a separate array")
    return out


def kernel_ready(out, inputs):
    """Whether a call may go straight to its kernel, whose own checks then suffice: ``out`` an
    aligned ndarray of float32 or float64, every input a plain ndarray of that same dtype, and
    none of them overlapping ``out`` (the checks the bindings do not make)."""
    if type(out) is not np.ndarray:
        return False
    dtype = out.dtype
    if not (dtype is _FLOAT32 or dtype is _FLOAT64) or not out.flags.aligned:
        return False
    for array in inputs:
        if type(array) is not np.ndarray or array.dtype is not dtype:
            return False
    return not _core.overlaps_any(out, inputs)


def _same_memory(a, b):
    return (
        b is not None
        and a.shape == b.shape
        and a.strides == b.strides
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )
