"""The argument checks' compiled overlap test against NumPy's own (np.may_share_memory: a test
of memory bounds, so it may report views that interleave without sharing an element)."""

import numpy as np
import pytest

from fastnn import _core


def random_view(rng, base):
    """A view of `base` (240 values) with 1 to 3 axes, random slices, some axes reversed (negative
    strides), sometimes transposed, empty or reinterpreted as float32."""
    flat = base.view(np.float32) if rng.random() < 0.25 else base
    shape = [(flat.size,), (flat.size // 12, 12), (flat.size // 12, 3, 4)][int(rng.integers(3))]
    index = []
    for extent in shape:
        start, stop = sorted(int(v) for v in rng.integers(0, extent + 1, 2))
        index.append(slice(start, stop, int(rng.choice([1, 1, 2, 3]))))
    view = flat.reshape(shape)[tuple(index)]
    for axis in range(view.ndim):
        if rng.random() < 0.3:
            view = np.flip(view, axis)
    return view.T if rng.random() < 0.3 else view


def test_overlaps_any_agrees_with_may_share_memory_on_random_views():
    rng = np.random.default_rng(0)
    base = np.zeros(240)
    other = np.zeros(240)
    checked = overlapping = 0
    for _ in range(3000):
        a = random_view(rng, base)
        b = random_view(rng, base if rng.random() < 0.8 else other)
        want = bool(np.may_share_memory(a, b))
        assert _core.overlaps_any(a, (b,)) == want, (a.shape, a.strides, b.shape, b.strides)
        checked += 1
        overlapping += want
    assert 0.2 * checked < overlapping < 0.9 * checked  # both outcomes were exercised


def test_overlaps_any_skips_none_and_objects_that_are_not_arrays():
    x = np.zeros((4, 5))
    assert not _core.overlaps_any(x, (None, [1.0, 2.0], 3.0))
    assert not _core.overlaps_any(x, ())
    assert _core.overlaps_any(x, (None, np.zeros(3), x[1:2, 3:]))
    assert not _core.overlaps_any(x[:0], (x,))  # an empty array overlaps nothing
    assert not _core.overlaps_any(x, (x[2:2],))


def test_overlaps_any_refuses_a_non_array_out():
    with pytest.raises(TypeError):
        _core.overlaps_any([1.0], (np.zeros(1),))
