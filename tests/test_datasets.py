"""Tests of fastnn.datasets: the synthetic generators, train_test_split and the embedded digits.

Expected geometry is computed here from the published definitions (scikit-learn's make_circles
and make_moons, the spiral formula in the docstring) with NumPy's own sin/cos, never by calling
the code under test. Facts about the digits (class counts, checksums) were computed once from
scikit-learn's copy of the UCI data and are hard-coded. Statistical checks use bounds of
Z_BOUND = 5.5 standard errors (false-failure probability below about 1e-7 each); seeds are fixed.
"""

import hashlib
import io
import math
import re
from importlib import resources

import numpy as np
import pytest
from conftest import num_threads

import fastnn
from fastnn import datasets

Z_BOUND = 5.5
DTYPES = (np.float32, np.float64)
GENERATORS = (datasets.make_circles, datasets.make_moons, datasets.make_spirals)


def tolerance(dtype):
    """A few ulp of the output dtype at magnitude ~1 (the geometry is rounded to dtype once)."""
    return 4 * float(np.finfo(dtype).eps)


# --------------------------------------------------------------------------------------------
# Shapes, dtypes, balance, reproducibility: every generator
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [2, 3, 100, 101])
def test_shapes_and_dtypes(make, dtype, n):
    x, y = make(n, noise=0.1, seed=1, dtype=dtype)
    assert x.shape == (n, 2) and x.dtype == dtype and x.flags.c_contiguous
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.all(np.isfinite(x))


def test_defaults():
    for make in GENERATORS:
        x, y = make(seed=0)
        assert x.shape == (100, 2) and x.dtype == np.float32 and np.bincount(y).tolist() == [50, 50]


@pytest.mark.parametrize("make", [datasets.make_circles, datasets.make_moons])
@pytest.mark.parametrize("n", [1, 2, 7, 100, 101])
def test_two_class_split_follows_sklearn(make, n):
    # scikit-learn: n_samples_out = n // 2 (label 0), n_samples_in = n - n // 2 (label 1)
    _, y = make(n, seed=3)
    assert np.sum(y == 0) == n // 2 and np.sum(y == 1) == n - n // 2


@pytest.mark.parametrize("n, k", [(100, 2), (301, 3), (302, 3), (5, 5), (1000, 7)])
def test_spiral_classes_balanced(n, k):
    _, y = datasets.make_spirals(n, n_classes=k, seed=4)
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.sum() == n
    assert counts.max() - counts.min() <= (0 if n % k == 0 else 1)
    # the first n % k classes get the extra point
    assert counts.tolist() == [n // k + (j < n % k) for j in range(k)]


@pytest.mark.parametrize("make", GENERATORS)
def test_same_seed_same_bytes_different_seeds_differ(make):
    a = make(500, noise=0.1, seed=2024)
    b = make(500, noise=0.1, seed=2024)
    c = make(500, noise=0.1, seed=2025)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[1], c[1])  # the shuffle differs too


@pytest.mark.parametrize("make", GENERATORS)
def test_seed_none_draws_fresh_data(make):
    a, _ = make(200, noise=0.1)
    b, _ = make(200, noise=0.1)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("make", GENERATORS)
def test_float32_is_float64_rounded_once(make):
    x32, y32 = make(300, noise=0.2, seed=9, dtype=np.float32)
    x64, y64 = make(300, noise=0.2, seed=9, dtype="float64")
    assert np.array_equal(y32, y64)
    assert np.array_equal(x32, x64.astype(np.float32))


def test_same_bytes_for_any_thread_count():
    # large enough for the noise fill and the shuffle keys to be split over threads
    with num_threads(1):
        a = datasets.make_moons(40_000, noise=0.1, seed=5)
    with num_threads(4):
        b = datasets.make_moons(40_000, noise=0.1, seed=5)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()


def test_golden_bytes():
    # Regression anchor for the "bitwise the same on every machine" guarantee: the geometry uses
    # only IEEE + - * / and the noise and shuffle come from the Philox stream, so these bytes
    # must not change with the machine, the ISA path, NumPy's libm or the thread count.
    x, y = datasets.make_spirals(64, n_classes=3, noise=0.1, seed=12345, dtype=np.float64)
    assert hashlib.sha256(x.tobytes()).hexdigest() == "2f6f510e12bcc95343ef28aabaa99f1abd967e070122ad96d49089546486b2ee"
    assert hashlib.sha256(y.tobytes()).hexdigest() == "68ad95ba15fa998637817125d1444cfb3c4234b0fd696c4060ee08255d9a71f5"


# --------------------------------------------------------------------------------------------
# The documented stream layout: shuffle keys and noise
# --------------------------------------------------------------------------------------------


def documented_permutation(n, seed):
    """fastnn.random.permutation(n, seed=seed, offset=2**62), written out from its documented
    layout: stable argsort of the keys bits[2i] + bits[2i + 1] * 2**32 (low word first)."""
    bits = fastnn.random.random_bits(2 * n, seed=seed, offset=2**62).astype(np.uint64)
    keys = bits[0::2] + bits[1::2] * np.uint64(2**32)
    return np.argsort(keys, kind="stable")


@pytest.mark.parametrize("make", GENERATORS)
def test_shuffle_is_the_documented_permutation(make):
    n, seed = 257, 77
    ordered, y_ordered = make(n, shuffle=False, seed=seed, dtype=np.float64)
    shuffled, y_shuffled = make(n, shuffle=True, seed=seed, dtype=np.float64)
    order = documented_permutation(n, seed)
    assert np.array_equal(shuffled, ordered[order]) and np.array_equal(y_shuffled, y_ordered[order])
    assert not np.array_equal(order, np.arange(n))


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_noise_is_the_documented_normal_stream(make, dtype):
    n, seed, noise = 300, 8, 0.3
    clean, _ = make(n, shuffle=False, seed=seed, dtype=np.float64)
    noisy, _ = make(n, shuffle=False, noise=noise, seed=seed, dtype=dtype)
    expected = clean + fastnn.random.normal((n, 2), 0.0, noise, seed=seed, dtype=np.float64)
    assert np.array_equal(noisy, expected.astype(dtype))


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, factor", [(100, 0.8), (101, 0.5), (7, 0.1), (2, 0.99)])
def test_circles_geometry(dtype, n, factor):
    x, y = datasets.make_circles(n, factor=factor, seed=0, dtype=dtype)
    radius = np.hypot(x[:, 0].astype(np.float64), x[:, 1].astype(np.float64))
    tol = tolerance(dtype)
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=0, atol=tol)
    np.testing.assert_allclose(radius[y == 1], factor, rtol=0, atol=tol)
    # unshuffled: sklearn's points, np.linspace(0, 2 pi, m, endpoint=False) on each circle
    x, y = datasets.make_circles(n, factor=factor, shuffle=False, dtype=dtype)
    n_out, n_in = n // 2, n - n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    expected = np.concatenate([np.c_[np.cos(t_out), np.sin(t_out)], factor * np.c_[np.cos(t_in), np.sin(t_in)]])
    np.testing.assert_allclose(x, expected, rtol=0, atol=tol)
    assert np.array_equal(y, np.r_[np.zeros(n_out), np.ones(n_in)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [100, 101, 4, 3])
def test_moons_geometry(dtype, n):
    x, y = datasets.make_moons(n, seed=0, dtype=dtype)
    p = x.astype(np.float64)
    tol = tolerance(dtype)
    upper, lower = p[y == 0], p[y == 1]
    # upper moon: the upper half of the unit circle around (0, 0)
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=0, atol=tol)
    assert np.all(upper[:, 1] >= 0)
    # lower moon: the lower half of the unit circle around (1, 0.5)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, rtol=0, atol=tol)
    assert np.all(lower[:, 1] <= 0.5)
    # unshuffled: sklearn's points, np.linspace(0, pi, m) (ends included)
    x, y = datasets.make_moons(n, shuffle=False, dtype=dtype)
    t_out, t_in = np.linspace(0, np.pi, n // 2), np.linspace(0, np.pi, n - n // 2)
    expected = np.concatenate([np.c_[np.cos(t_out), np.sin(t_out)], np.c_[1 - np.cos(t_in), 0.5 - np.sin(t_in)]])
    np.testing.assert_allclose(x, expected, rtol=0, atol=tol)


def test_moons_endpoints_exact():
    x, _ = datasets.make_moons(6, shuffle=False, dtype=np.float64)
    assert x.tolist() == [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 0.5], [1.0, -0.5], [2.0, 0.5]]
    assert not np.any(np.signbit(x[x == 0]))  # no negative zeros


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, k, turns", [(200, 2, 1.0), (301, 3, 1.5), (50, 5, 0.25)])
def test_spirals_geometry(dtype, n, k, turns):
    x, y = datasets.make_spirals(n, n_classes=k, turns=turns, shuffle=False, dtype=dtype)
    p = x.astype(np.float64)
    radius = np.hypot(p[:, 0], p[:, 1])
    tol = tolerance(dtype)
    for j in range(k):
        arm = y == j
        m = int(arm.sum())
        r = radius[arm]
        # radius grows linearly along the arm, from 1/m to 1
        np.testing.assert_allclose(r, np.arange(1, m + 1) / m, rtol=0, atol=tol)
        assert np.all(np.diff(r) > 0)
        # angle 2 pi (turns * r + j / k); NumPy's sin/cos of the rounded angle err by about
        # eps * angle, hence the tolerance growing with the angle
        angle = 2 * np.pi * (turns * np.arange(1, m + 1) / m + j / k)
        expected = np.c_[r * np.cos(angle), r * np.sin(angle)]
        np.testing.assert_allclose(p[arm], expected, rtol=0, atol=tol * (1 + angle.max()))


def test_spiral_arms_are_rotations_of_each_other():
    # with equal class sizes, arm j is arm 0 rotated by j / k of a turn
    k, m = 4, 50
    x, y = datasets.make_spirals(k * m, n_classes=k, shuffle=False, dtype=np.float64)
    arm0 = x[y == 0]
    for j in range(1, k):
        a = 2 * np.pi * j / k
        rotation = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        np.testing.assert_allclose(x[y == j], arm0 @ rotation, rtol=0, atol=1e-14)


@pytest.mark.parametrize("noise", [0.01, 0.05])
def test_circles_radial_spread_matches_noise(noise):
    # Isotropic N(0, noise^2) per coordinate: the radial deviation r - r0 is ~ N(0, noise^2)
    # up to a curvature term of order noise^2 / r0 (negligible here), so its mean square is
    # noise^2 within Z_BOUND standard errors (var of a squared normal: 2 noise^4).
    n, factor = 20_000, 0.5
    x, y = datasets.make_circles(n, noise=noise, factor=factor, seed=31, dtype=np.float64)
    deviation = np.hypot(x[:, 0], x[:, 1]) - np.where(y == 0, 1.0, factor)
    ms = np.mean(deviation**2)
    curvature = (noise**2 / factor) ** 2  # generous allowance for the bias of the square
    assert abs(ms - noise**2) < Z_BOUND * math.sqrt(2 * noise**4 / n) + curvature, (ms, noise**2)
    assert abs(deviation.mean()) < Z_BOUND * noise / math.sqrt(n) + noise**2 / factor
    # and without noise the deviation is zero up to rounding
    x0, y0 = datasets.make_circles(n, factor=factor, seed=31, dtype=np.float64)
    assert np.abs(np.hypot(x0[:, 0], x0[:, 1]) - np.where(y0 == 0, 1.0, factor)).max() < 1e-15


@pytest.mark.parametrize("make", GENERATORS)
def test_noise_per_coordinate_std(make):
    n, noise = 20_000, 0.2
    clean, _ = make(n, shuffle=False, seed=6, dtype=np.float64)
    noisy, _ = make(n, shuffle=False, noise=noise, seed=6, dtype=np.float64)
    d = (noisy - clean).ravel()
    assert abs(d.mean()) < Z_BOUND * noise / math.sqrt(d.size)
    assert abs(np.mean(d**2) - noise**2) < Z_BOUND * math.sqrt(2 * noise**4 / d.size)


# --------------------------------------------------------------------------------------------
# train_test_split
# --------------------------------------------------------------------------------------------


def split_ids(n, **kw):
    ids = np.arange(n)
    return datasets.train_test_split(ids, **kw)


@pytest.mark.parametrize("n, test_size, n_test", [
    (100, 0.25, 25), (100, 0.2, 20), (10, 0.33, 4), (10, 0.25, 3), (7, 0.5, 4), (2, 0.5, 1),
    (100, 1, 1), (100, 99, 99), (100, 30, 30), (100, np.int64(10), 10), (100, np.float32(0.5), 50),
])
def test_split_sizes(n, test_size, n_test):
    train, test = split_ids(n, test_size=test_size, seed=0)
    assert len(test) == n_test and len(train) == n - n_test


def test_split_default_test_size_is_a_quarter():
    train, test = split_ids(1000, seed=1)
    assert len(test) == 250 and len(train) == 750


@pytest.mark.parametrize("shuffle", [True, False])
def test_split_loses_and_duplicates_nothing_and_stays_aligned(shuffle):
    n = 1000
    ids = np.arange(n)
    x = np.stack([ids, 2 * ids, 3 * ids], axis=1).astype(np.float32)  # (n, 3)
    images = np.broadcast_to(ids[:, None, None, None], (n, 2, 2, 1)).astype(np.int16)
    y = ids % 7
    parts = datasets.train_test_split(ids, x, images, y, test_size=0.3, shuffle=shuffle, seed=11)
    assert len(parts) == 8
    id_tr, id_te, x_tr, x_te, im_tr, im_te, y_tr, y_te = parts
    assert np.array_equal(np.sort(np.concatenate([id_tr, id_te])), ids)  # every id exactly once
    for ids_part, x_part, im_part, y_part in [(id_tr, x_tr, im_tr, y_tr), (id_te, x_te, im_te, y_te)]:
        assert np.array_equal(x_part, np.stack([ids_part, 2 * ids_part, 3 * ids_part], axis=1))
        assert np.all(im_part == ids_part[:, None, None, None]) and im_part.shape[1:] == (2, 2, 1)
        assert np.array_equal(y_part, ids_part % 7)
    assert x_tr.dtype == np.float32 and im_tr.dtype == np.int16 and y_te.dtype == y.dtype


def test_split_without_shuffle_keeps_order():
    train, test = split_ids(10, test_size=3, shuffle=False)
    assert train.tolist() == list(range(7)) and test.tolist() == [7, 8, 9]


def test_split_shuffles():
    train, test = split_ids(1000, seed=2)
    assert not np.array_equal(np.concatenate([train, test]), np.arange(1000))
    assert not np.all(np.diff(test) > 0)  # the test set comes out in random order, too


def test_split_is_the_documented_permutation():
    n, seed = 50, 123
    train, test = split_ids(n, test_size=10, seed=seed)
    order = documented_permutation(n, seed)
    assert np.array_equal(train, order[:40]) and np.array_equal(test, order[40:])


def test_split_deterministic_with_seed():
    x = np.arange(200) * 1.5
    a = datasets.train_test_split(x, x, seed=99)
    b = datasets.train_test_split(x, x, seed=99)
    c = datasets.train_test_split(x, x, seed=100)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    assert not np.array_equal(split_ids(200)[1], split_ids(200)[1])  # seed=None: fresh


def test_split_every_row_equally_likely_in_test():
    # each id lands in the test set with probability 3/10 over seeds: a binomial count
    n, n_test, trials = 10, 3, 2000
    hits = np.zeros(n)
    for seed in range(trials):
        hits[split_ids(n, test_size=n_test, seed=seed)[1]] += 1
    p = n_test / n
    assert np.all(np.abs(hits - trials * p) < Z_BOUND * math.sqrt(trials * p * (1 - p))), hits


def test_split_accepts_lists():
    x_train, x_test, y_train, y_test = datasets.train_test_split([[0, 0], [1, 1], [2, 2], [3, 3]], [0, 1, 2, 3],
                                                                  test_size=1, seed=0)
    assert isinstance(x_train, np.ndarray) and x_train.shape == (3, 2) and x_test.shape == (1, 2)
    assert np.array_equal(x_train[:, 0], y_train) and np.array_equal(x_test[:, 0], y_test)


@pytest.mark.parametrize("counts, test_size", [
    ([50, 30, 20, 7], 0.3), ([500, 5], 0.1), ([1, 1, 1, 97], 0.5), ([33, 33, 34], 10), ([9, 1], 0.25),
    ([3] * 20, 0.5),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stratify_keeps_proportions(counts, test_size, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    n = len(labels)
    labels = labels[documented_permutation(n, 1000 + seed)]  # mixed order going in
    ids = np.arange(n)
    id_tr, id_te, y_tr, y_te = datasets.train_test_split(ids, labels, test_size=test_size, stratify=labels, seed=seed)
    n_test = test_size if isinstance(test_size, int) else math.ceil(test_size * n)
    assert len(id_te) == n_test and len(id_tr) == n - n_test
    assert np.array_equal(np.sort(np.concatenate([id_tr, id_te])), ids)
    assert np.array_equal(labels[id_tr], y_tr) and np.array_equal(labels[id_te], y_te)
    got_test = np.bincount(y_te, minlength=len(counts))
    got_train = np.bincount(y_tr, minlength=len(counts))
    for c, count in enumerate(counts):
        quota = n_test * count / n
        assert abs(got_test[c] - quota) < 1 and abs(got_train[c] - (count - quota)) < 1, (c, got_test, got_train)


def test_stratify_with_string_labels_and_random_members():
    labels = np.array(["cat"] * 40 + ["dog"] * 60)
    _, y_test = datasets.train_test_split(labels, test_size=0.25, stratify=labels, seed=3)
    assert sorted(y_test.tolist()) == ["cat"] * 10 + ["dog"] * 15
    # which members of a class are chosen depends on the seed
    ids = np.arange(100)
    a = datasets.train_test_split(ids, stratify=labels, seed=1)[1]
    b = datasets.train_test_split(ids, stratify=labels, seed=2)[1]
    assert set(a.tolist()) != set(b.tolist())


# --------------------------------------------------------------------------------------------
# load_digits
# --------------------------------------------------------------------------------------------

# External facts about the UCI "Optical Recognition of Handwritten Digits" data (the 1,797-image
# test part, optdigits.tes), computed once from scikit-learn 1.9.1's bundled copy
# (sklearn/datasets/data/digits.csv.gz via sklearn.datasets.load_digits): not produced by fastnn.
DIGITS_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
DIGITS_IMAGES_SHA256 = "8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3"  # uint8 (1797, 64), C order
DIGITS_LABELS_SHA256 = "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0"  # uint8 (1797,)
DIGITS_PIXEL_SUM = 561718  # sum of the raw 0..16 values


@pytest.mark.parametrize("dtype", DTYPES)
def test_digits_shapes_and_values(dtype):
    x, y = datasets.load_digits(dtype=dtype)
    assert x.shape == (1797, 64) and x.dtype == dtype
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    raw = x * 16
    assert np.array_equal(raw, np.round(raw))  # every pixel is exactly k / 16
    assert np.unique(raw).tolist() == list(range(17))  # all 17 levels occur
    assert np.bincount(y).tolist() == DIGITS_CLASS_COUNTS
    assert y[:10].tolist() == list(range(10))


def test_digits_checksums():
    x, y = datasets.load_digits(dtype=np.float64)
    raw = (x * 16).astype(np.uint8)
    assert hashlib.sha256(raw.tobytes()).hexdigest() == DIGITS_IMAGES_SHA256
    assert hashlib.sha256(y.astype(np.uint8).tobytes()).hexdigest() == DIGITS_LABELS_SHA256
    assert int(raw.sum(dtype=np.int64)) == DIGITS_PIXEL_SUM


def test_digits_as_images():
    flat, y = datasets.load_digits()
    images, y2 = datasets.load_digits(as_images=True)
    assert images.shape == (1797, 8, 8, 1) and images.dtype == np.float32
    assert np.array_equal(images.reshape(1797, 64), flat) and np.array_equal(y, y2)
    # row-major pixels: the first image is a 0, a ring with a dark centre (raw rows 3 and 4 are
    # 0,4,12,0,0,8,8,0 and 0,5,8,0,0,9,8,0 in the UCI file)
    assert images[0, 3:5, :, 0].ravel().tolist() == [k / 16 for k in (0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0)]


def test_digits_fresh_arrays():
    x, y = datasets.load_digits()
    x[:] = -1
    y[:] = -1
    x2, y2 = datasets.load_digits()
    assert x2.min() == 0.0 and y2.min() == 0


def test_digits_file_is_plain_compact_npz():
    resource = resources.files("fastnn") / "data" / "digits.npz"
    blob = resource.read_bytes()
    assert len(blob) < 100_000
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        assert sorted(data.files) == ["images", "labels"]
        assert data["images"].dtype == np.uint8 and data["labels"].dtype == np.uint8


def test_digits_bad_arguments():
    with pytest.raises(TypeError, match="as_images"):
        datasets.load_digits(as_images=1)
    with pytest.raises(TypeError, match="dtype"):
        datasets.load_digits(dtype=np.uint8)
    with pytest.raises(TypeError):
        datasets.load_digits(True)  # keyword-only


# --------------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------------


def test_noise_message_exact():
    with pytest.raises(ValueError, match=re.escape("Argument `noise` must be >= 0. Received: noise=-1")):
        datasets.make_circles(noise=-1)


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("kwargs, error, name", [
    ({"n_samples": 0}, ValueError, "n_samples"),
    ({"n_samples": -5}, ValueError, "n_samples"),
    ({"n_samples": 10.0}, TypeError, "n_samples"),
    ({"n_samples": True}, TypeError, "n_samples"),
    ({"n_samples": "10"}, TypeError, "n_samples"),
    ({"noise": -0.1}, ValueError, "noise"),
    ({"noise": float("nan")}, ValueError, "noise"),
    ({"noise": float("inf")}, ValueError, "noise"),
    ({"noise": "0.1"}, TypeError, "noise"),
    ({"noise": None}, TypeError, "noise"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 2**64}, ValueError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"dtype": np.int32}, TypeError, "dtype"),
    ({"dtype": np.float16}, TypeError, "dtype"),
    ({"shuffle": 1}, TypeError, "shuffle"),
])
def test_bad_common_arguments(make, kwargs, error, name):
    with pytest.raises(error, match=f"`{name}`"):
        make(**kwargs)


@pytest.mark.parametrize("factor, error", [(0, ValueError), (1, ValueError), (1.5, ValueError), (-0.5, ValueError),
                                           (float("nan"), ValueError), ("0.5", TypeError)])
def test_bad_factor(factor, error):
    with pytest.raises(error, match="`factor`"):
        datasets.make_circles(factor=factor)


@pytest.mark.parametrize("kwargs, error, name", [
    ({"n_classes": 1}, ValueError, "n_classes"),
    ({"n_classes": 2.0}, TypeError, "n_classes"),
    ({"n_samples": 2, "n_classes": 3}, ValueError, "n_samples"),
    ({"turns": 0}, ValueError, "turns"),
    ({"turns": -1.0}, ValueError, "turns"),
    ({"turns": float("inf")}, ValueError, "turns"),
    ({"turns": None}, TypeError, "turns"),
])
def test_bad_spiral_arguments(kwargs, error, name):
    with pytest.raises(error, match=f"`{name}`"):
        datasets.make_spirals(**kwargs)


@pytest.mark.parametrize("test_size, error", [
    (0.0, ValueError), (1.0, ValueError), (-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError),
    (0, ValueError), (10, ValueError), (11, ValueError), (-1, ValueError), (0.95, ValueError),  # ceil(9.5) = 10 of 10
    (True, TypeError), ("0.2", TypeError), (None, TypeError),
])
def test_split_bad_test_size(test_size, error):
    with pytest.raises(error, match="`test_size`"):
        split_ids(10, test_size=test_size)


def test_split_bad_arrays():
    with pytest.raises(ValueError, match=re.escape("Received lengths: [10, 9]")):
        datasets.train_test_split(np.arange(10), np.arange(9))
    with pytest.raises(ValueError, match=re.escape("[10, 10, 11]")):
        datasets.train_test_split(np.arange(10), np.zeros((10, 3)), np.arange(11))
    with pytest.raises(TypeError, match="at least one array"):
        datasets.train_test_split()
    with pytest.raises(TypeError, match=re.escape("`arrays[1]`")):
        datasets.train_test_split(np.arange(3), np.float64(1.0))
    with pytest.raises(ValueError, match="`test_size`"):
        datasets.train_test_split(np.arange(1))  # one row cannot fill both sets


def test_split_bad_stratify_and_flags():
    ids = np.arange(10)
    with pytest.raises(ValueError, match="`stratify`"):
        datasets.train_test_split(ids, stratify=np.arange(9))
    with pytest.raises(ValueError, match="`stratify`"):
        datasets.train_test_split(ids, stratify=np.zeros((10, 2)))
    with pytest.raises(ValueError, match="`stratify`.*shuffle=False"):
        datasets.train_test_split(ids, stratify=ids % 2, shuffle=False)
    with pytest.raises(TypeError, match="`shuffle`"):
        datasets.train_test_split(ids, shuffle="no")
    with pytest.raises(ValueError, match="`seed`"):
        datasets.train_test_split(ids, seed=-1)
    with pytest.raises(ValueError, match="`seed`"):
        datasets.train_test_split(ids, shuffle=False, seed=-1)  # unused, still checked
