"""Augmentation: the affine resampling kernel against scipy.ndimage, exact flips and quarter
turns, the random parameters' ranges and reproducibility, and the layers."""

import numpy as np
import pytest
from conftest import num_threads

import fastnn
from fastnn import augment
from fastnn.layers import Conv2D, Dense, Flatten, RandomFlip, RandomRotation, RandomTranslation, RandomZoom

ndimage = pytest.importorskip("scipy.ndimage")

SCIPY_MODE = {"reflect": "reflect", "nearest": "nearest", "constant": "grid-constant", "wrap": "grid-wrap"}


def identity(n):
    return np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (n, 1, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fill_mode", augment.FILL_MODES)
def test_affine_transform_matches_scipy(rng, dtype, fill_mode):
    x = rng.standard_normal((3, 7, 6, 2)).astype(dtype)
    matrices = identity(3) + rng.uniform(-0.4, 0.4, (3, 2, 3)) * np.array([1, 1, 4])  # shears, turns, shifts
    got = augment.affine_transform(x, matrices, fill_mode=fill_mode, fill_value=0.5)
    for n in range(3):
        for c in range(2):
            want = ndimage.affine_transform(x[n, :, :, c].astype(np.float64), matrices[n, :, :2], offset=matrices[n, :, 2],
                                            order=1, mode=SCIPY_MODE[fill_mode], cval=0.5)
            np.testing.assert_allclose(got[n, :, :, c], want, rtol=0, atol=50 * np.finfo(dtype).eps)


def test_flips_quarter_turns_and_whole_pixel_shifts_copy_pixels_exactly(rng):
    x = rng.standard_normal((2, 5, 5, 3)).astype(np.float32)
    ones, zeros = np.ones(2), np.zeros(2)

    def compose(flip_h=ones, flip_w=ones, theta=zeros, shift_h=zeros):
        return augment._compose(5, 5, flip_h, flip_w, theta, ones, ones, shift_h, zeros)

    assert np.array_equal(augment.affine_transform(x, compose(flip_w=-ones)), x[:, :, ::-1])
    assert np.array_equal(augment.affine_transform(x, compose(flip_h=-ones)), x[:, ::-1])
    assert np.array_equal(augment.affine_transform(x, compose(theta=np.full(2, np.pi / 2))), np.rot90(x, 1, axes=(1, 2)))
    assert np.array_equal(augment.affine_transform(x, compose(theta=np.full(2, np.pi))), x[:, ::-1, ::-1])
    shifted = augment.affine_transform(x, compose(shift_h=np.full(2, 2.0)), fill_mode="constant", fill_value=7)
    assert np.array_equal(shifted[:, 2:], x[:, :-2]) and np.all(shifted[:, :2] == 7)


def test_quarter_turn_of_a_known_image():
    image = np.arange(9, dtype=np.float64).reshape(1, 3, 3, 1)  # 0 1 2 / 3 4 5 / 6 7 8
    turned = augment.random_rotation(image, (0.25, 0.25), seed=0)  # a quarter turn counter-clockwise
    np.testing.assert_array_equal(turned[0, :, :, 0], [[2, 5, 8], [1, 4, 7], [0, 3, 6]])


def test_random_parameters_follow_the_documented_draws(rng):
    x = rng.standard_normal((64, 4, 4, 1))
    flipped = augment.random_flip(x, "horizontal", seed=9, offset=5)
    u = fastnn.random.uniform((64, augment.DRAWS_PER_IMAGE), seed=9, offset=5, dtype=np.float64)
    for n in range(64):
        want = x[n, :, ::-1] if u[n, 0] < 0.5 else x[n]
        assert np.array_equal(flipped[n], want)
    assert 16 < np.sum(u[:, 0] < 0.5) < 48


def test_zoom_out_shrinks_and_reproducible_across_threads(rng):
    x = np.zeros((1, 9, 9, 1))
    x[0, 3:6, 3:6] = 1  # a 3x3 square in the middle
    zoomed = augment.random_zoom(x, (1.0, 1.0), seed=0, fill_mode="constant")  # zoom 2: content halves
    assert 0 < zoomed.sum() < x.sum() / 2
    big = rng.standard_normal((32, 16, 16, 3)).astype(np.float32)
    runs = []
    for threads in (1, 2):
        with num_threads(threads):
            runs.append(augment.random_affine(big, seed=4, flip="horizontal", rotation=0.1, zoom=0.2,
                                              translation=(0.1, 0.1)))
    assert np.array_equal(runs[0], runs[1])


@pytest.mark.parametrize("call, error, match", [
    (lambda x: augment.random_rotation(x[0], 0.1, seed=0), ValueError, "images"),
    (lambda x: augment.random_zoom(x, 1.5, seed=0), ValueError, "height_factor|zoom"),
    (lambda x: augment.random_rotation(x, (0.2, 0.1), seed=0), ValueError, "rotation"),
    (lambda x: augment.random_rotation(x, 0.1, seed=0, fill_mode="mirror"), ValueError, "fill_mode"),
    (lambda x: augment.random_flip(x, "diagonal", seed=0), ValueError, "mode"),
    (lambda x: augment.affine_transform(x, np.full((2, 2, 3), np.nan)), ValueError, "finite"),
    (lambda x: augment.affine_transform(x, np.zeros((1, 2, 3))), ValueError, "matrices"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call(np.ones((2, 4, 4, 1)))


def test_layers_are_identity_at_inference_and_reproducible_in_training(tmp_path):
    x, y = fastnn.datasets.load_digits(as_images=True)
    x, y = x[:256], y[:256]

    def model():
        m = fastnn.Sequential([RandomFlip("horizontal"), RandomRotation(0.05), RandomZoom(0.1),
                               RandomTranslation(0.1, 0.1, fill_mode="constant"), Conv2D(8, 3, activation="relu"),
                               Flatten(), Dense(10, activation="softmax")], seed=1)
        m.compile("adam", "sparse_categorical_crossentropy")
        return m

    a = model()
    a.build(x.shape[1:])
    for layer in a.layers[:4]:
        assert np.array_equal(layer.forward(x), x)  # training=False: the identity
    a.fit(x, y, epochs=1, batch_size=64, verbose=0)
    a.save(tmp_path / "aug.fastnn")
    b = fastnn.load_model(tmp_path / "aug.fastnn")
    assert [layer.step for layer in b.layers[:4]] == [4, 4, 4, 4]
    ha, hb = a.fit(x, y, epochs=1, batch_size=64, verbose=0), b.fit(x, y, epochs=1, batch_size=64, verbose=0)
    assert ha.history == hb.history


def resampling_matrix(matrices, shape, fill_mode):
    """The forward resampling of images of `shape` as a dense float64 matrix, column by column
    (the image of each unit input), for fill values of 0 (where it is linear)."""
    size = int(np.prod(shape[1:]))
    columns = np.empty((shape[0], size, size))
    for k in range(size):
        unit = np.zeros(shape)
        unit.reshape(shape[0], size)[:, k] = 1.0
        columns[:, :, k] = augment.affine_transform(unit, matrices, fill_mode=fill_mode).reshape(shape[0], size)
    return columns


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fill_mode", augment.FILL_MODES)
def test_backward_is_the_transposed_resampling(rng, dtype, fill_mode):
    shape = (3, 5, 4, 2)
    matrices = identity(3) + rng.uniform(-0.4, 0.4, (3, 2, 3)) * np.array([1, 1, 4])  # shears, turns, shifts
    matrices[2] = [[1, 0, 0], [0, -1, 3]]  # an exact horizontal flip
    dy = rng.standard_normal(shape)
    dx = augment.affine_transform_backward(dy.astype(dtype), matrices, fill_mode=fill_mode)
    assert dx.dtype == dtype and dx.shape == shape
    a = resampling_matrix(matrices, shape, fill_mode)
    want = np.einsum("nij,ni->nj", a, dy.reshape(3, -1)).reshape(shape)
    np.testing.assert_allclose(dx, want, rtol=0, atol=8 * np.finfo(dtype).eps * np.abs(dy).max())
    assert np.array_equal(dx[2], dy.astype(dtype)[2, :, ::-1])  # a flip passes the gradient back exactly


def test_backward_is_reproducible_across_threads(rng):
    dy = rng.standard_normal((16, 12, 12, 3)).astype(np.float32)
    matrices = augment.random_matrices(dy.shape, seed=3, rotation=0.2, zoom=0.3, translation=(0.2, 0.2))
    runs = []
    for threads in (1, 2, 3):
        with num_threads(threads):
            runs.append(augment.affine_transform_backward(dy, matrices, fill_mode="reflect"))
    assert all(np.array_equal(runs[0], run) for run in runs[1:])
    np.testing.assert_array_equal(augment.random_affine(dy, seed=3, rotation=0.2, zoom=0.3, translation=(0.2, 0.2)),
                                  augment.affine_transform(dy, matrices))  # random_affine draws those matrices


@pytest.mark.parametrize("layer", [RandomFlip(), RandomRotation(0.2, fill_mode="constant"), RandomZoom(0.3),
                                   RandomTranslation(0.2, 0.2, fill_mode="wrap")], ids=lambda layer: type(layer).__name__)
def test_layer_backward_is_the_adjoint_of_its_training_forward(rng, layer):
    x, dy = rng.standard_normal((6, 7, 5, 2)), rng.standard_normal((6, 7, 5, 2))
    layer.dtype = np.dtype(np.float64)
    y = layer.forward(x, training=True)
    dx = layer.backward(dy)
    # <forward(x), dy> = <x, backward(dy)>: the forward is linear in x (fill value 0)
    assert np.vdot(y, dy) == pytest.approx(np.vdot(x, dx), rel=1e-12)
    layer.forward(x)  # inference: the identity, and so is its gradient
    assert layer.backward(dy) is dy


def test_augmentation_after_weights_trains():
    x, y = fastnn.datasets.load_digits(as_images=True)
    m = fastnn.Sequential([Conv2D(4, 3, padding="same", activation="relu"), RandomRotation(0.05), RandomFlip("horizontal"),
                           Flatten(), Dense(10, activation="softmax")], seed=0)
    m.compile(fastnn.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    history = m.fit(x[:512], y[:512], epochs=5, batch_size=64, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


@pytest.mark.parametrize("call, match", [
    (lambda dy: augment.affine_transform_backward(dy[0], identity(2)), "dy"),
    (lambda dy: augment.affine_transform_backward(dy, identity(3)), "matrices"),
    (lambda dy: augment.affine_transform_backward(dy, np.full((2, 2, 3), np.inf)), "finite"),
    (lambda dy: augment.affine_transform_backward(dy, identity(2), fill_mode="mirror"), "fill_mode"),
])
def test_bad_backward_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.ones((2, 4, 4, 1)))
