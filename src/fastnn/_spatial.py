"""Sliding-window geometry shared by convolution (and pooling): Keras's rules for "valid" and
"same" padding, channels-last arrays, 1 to 3 spatial dimensions."""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import _validation as check

PADDINGS = ("valid", "same")


def padding_name(padding):
    """"valid" or "same", in any case (as Keras takes them)."""
    return check.choice(padding.lower() if isinstance(padding, str) else padding, "padding", PADDINGS)


def tuple_argument(value, rank, name, minimum=1):
    """An int or a sequence of ``rank`` ints, each >= minimum, as a tuple of ``rank`` ints."""
    values = (value,) * rank if not isinstance(value, (tuple, list)) else tuple(value)
    if len(values) != rank:
        raise ValueError(f"Argument `{name}` must be an int or a sequence of {rank} ints. Received: {name}={value!r}")
    for v in values:
        check.integer(v, name)
        if v < minimum:
            raise ValueError(f"Argument `{name}` must hold integers >= {minimum}. Received: {name}={value!r}")
    return tuple(int(v) for v in values)


@dataclass(frozen=True)
class Windows:
    """Where the windows of a sliding operation fall, per spatial dimension."""

    out: tuple   # output size
    pad: tuple   # zero rows added before the input ("same" puts the odd one after)

    def as_3d(self):
        """(out, pad) padded to 3 dimensions at the front, as the C++ kernels take them."""
        extra = 3 - len(self.out)
        return (1,) * extra + self.out, (0,) * extra + self.pad


def windows(in_shape, kernel, strides, dilation, padding, what="kernel_size"):
    """Output sizes and leading pads (Keras / TensorFlow conventions).

    "valid": ``out = floor((in - dilation * (kernel - 1) - 1) / stride) + 1``, an error when the
    dilated kernel is larger than the input; "same": ``out = ceil(in / stride)``, with
    ``max((out - 1) * stride + dilated kernel - in, 0)`` zeros split as evenly as possible,
    the odd one at the end.
    """
    padding = padding_name(padding)
    out, pad = [], []
    for size, k, s, d in zip(in_shape, kernel, strides, dilation):
        span = d * (k - 1) + 1
        if padding == "valid":
            if span > size:
                raise ValueError(f"Argument `{what}` {tuple(kernel)} (dilation {tuple(dilation)}) is larger than the "
                                 f"input's spatial shape {tuple(in_shape)} with padding='valid'")
            out.append((size - span) // s + 1)
            pad.append(0)
        else:
            o = math.ceil(size / s)
            out.append(o)
            pad.append(max((o - 1) * s + span - size, 0) // 2)
    return Windows(tuple(out), tuple(pad))


def kernel_settings(windows, strides, dilation):
    """The C++ kernels' (strides, dilation, padding before), each over 3 spatial dimensions
    (unit ones in front)."""
    grow = (1,) * (3 - len(strides))
    return grow + tuple(strides), grow + tuple(dilation), windows.as_3d()[1]


def as_5d(a, kernel=False):
    """A view with unit spatial dimensions added in front, as the C++ kernels take arrays:
    (batch, d, h, w, c), or (kd, kh, kw, c, f) for a kernel."""
    extra = 5 - a.ndim
    return a.reshape(a.shape[:0 if kernel else 1] + (1,) * extra + a.shape[0 if kernel else 1:])
