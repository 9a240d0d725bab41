"""The classic results of the convolutional chapter, as statistical checks over several seeds:
zero init leaves the CNN at chance while He trains it; batch normalization lets a deep plain
stack learn at a learning rate where it fails without; a residual stack keeps its gradient scale
where a plain one's vanishes; augmentation narrows the train-validation gap on a small subset.

Each runs in a few seconds at one thread (small networks, few epochs) with clear margins.
"""

import math

import numpy as np
import pytest

import fastnn
from fastnn import experiments, experiments_cnn, experiments_depth
from fastnn.layers import BatchNormalization, Dense, ReLU

# small networks: one thread is fastest
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits_images():
    x, y = fastnn.datasets.load_digits(as_images=True)
    return experiments.split(x, y, test_size=0.5, seed=0)


def test_zero_init_leaves_the_cnn_at_chance_and_he_trains_it():
    result = experiments_cnn.compare_cnn(configs=["zero+plain", "zero+all", "he+bn"], filters=(8, 16), epochs=2,
                                         seeds=2)
    chance = result.settings["chance"]
    for key in ("zero+plain", "zero+all"):  # batch norm, augmentation and dropout cannot break the symmetry
        assert np.all(result[key].values("val_accuracy") <= chance + 0.01), key
        # every channel stays 0: only the output bias learns, and the classes are balanced
        assert result[key].values("train_loss") == pytest.approx(math.log(10), abs=1e-3)
    assert np.all(result["he+bn"].values("val_accuracy") > 0.75)


def test_batch_norm_trains_a_deep_plain_stack_where_it_fails_without():
    """At learning rate 0.5 a 10-layer ReLU stack diverges or sits at chance (0.1) for every seed;
    with batch norm it learns for nearly every seed. How well is chaotic at this rate: across ten
    seeds 0.18-0.93 on one kernel path and 0.43-0.85 on another, and one seed went from 0.44 to
    0.18 when a single product changed its order of summation. So the claim is on ten seeds:
    their median, and no more than two that fail to learn."""
    x, y = fastnn.datasets.load_digits()
    x_train, x_val, y_train, y_val = experiments.split(x, y, test_size=0.5, seed=0)

    def accuracy(batch_norm, seed):
        layers = []
        for _ in range(10):
            layers += [Dense(32, kernel_init="he_normal"), BatchNormalization(momentum=0.9), ReLU()] if batch_norm \
                else [Dense(32, activation="relu", kernel_init="he_normal")]
        model = fastnn.Sequential([*layers, Dense(10, activation="softmax")], seed=seed)
        model.compile(fastnn.optimizers.SGD(learning_rate=0.5), "sparse_categorical_crossentropy", metrics=["accuracy"])
        try:
            model.fit(x_train, y_train, epochs=15, batch_size=32, verbose=0)
        except FloatingPointError:  # fit stops on a nan loss
            return 0.0  # diverged
        experiments.recalibrate_batch_norm(model, x_train)
        return model.evaluate(x_val, y_val)["accuracy"]

    assert all(accuracy(False, seed) < 0.2 for seed in range(3))  # at chance (0.1), or diverged
    with_batch_norm = np.array([accuracy(True, seed) for seed in range(10)])
    assert np.median(with_batch_norm) > 0.6 and np.sum(with_batch_norm < 0.4) <= 2, with_batch_norm


def test_a_residual_stack_keeps_its_gradient_scale_where_the_plain_stack_loses_it():
    for seed in (0, 1, 2):
        scales = {(s.architecture, s.initialization): s.gradients
                  for s in experiments_depth.depth_study((20,), seed=seed)}
        ratio = {key: grads[0] / grads[-1] for key, grads in scales.items()}  # first layer / last layer
        # Xavier on ReLU halves the mean square per layer: 2**-10 in RMS over 20 layers
        assert ratio["plain", "xavier"] < 1e-2
        assert 0.2 < ratio["plain", "he"] < 5  # He keeps it
        # the identity path carries the gradient down: it never shrinks, from either init
        assert ratio["residual", "xavier"] > 1 and ratio["residual", "he"] > 1


def test_augmentation_narrows_the_train_validation_gap_on_a_small_subset(digits_images):
    x_train, x_val, y_train, y_val = digits_images
    x_small, y_small = x_train[:200], y_train[:200]

    def loss_gap(augmentation, seed):
        model = experiments.build_cnn((8, 8, 1), 10, filters=(8, 16), augmentation=augmentation, seed=seed)
        model.compile(fastnn.optimizers.Adam(learning_rate=0.003), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x_small, y_small, epochs=40, batch_size=32, verbose=0)
        experiments.recalibrate_batch_norm(model, x_small)
        return model.evaluate(x_val, y_val)["loss"] - model.evaluate(x_small, y_small)["loss"]

    plain = np.array([loss_gap(False, seed) for seed in range(3)])
    augmented = np.array([loss_gap(True, seed) for seed in range(3)])
    assert np.all(augmented < plain), (plain, augmented)  # measured: 0.36/0.33/0.34 -> 0.20/0.18/0.25
    assert augmented.mean() < 0.8 * plain.mean()


def test_recalibrate_batch_norm_sets_the_exact_statistics_and_leaves_the_weights(digits_images):
    x_train = digits_images[0][:300]
    model = experiments.build_cnn((8, 8, 1), 10, filters=(4, 8), seed=0)
    trainable = [w.copy() for layer in model.layers for w in layer.params.values()]
    experiments.recalibrate_batch_norm(model, x_train)
    norm = model.layers[4]  # augmentation x3, conv, BN
    assert isinstance(norm, BatchNormalization) and norm.momentum == experiments.CNN_BN_MOMENTUM
    conv_out = model.layers[3].forward(x_train.astype(np.float32))
    expected_mean = conv_out.reshape(-1, 4).astype(np.float64).mean(axis=0)
    expected_var = conv_out.reshape(-1, 4).astype(np.float64).var(axis=0)
    np.testing.assert_allclose(norm.non_trainable_weights["moving_mean"], expected_mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(norm.non_trainable_weights["moving_variance"], expected_var, rtol=1e-4, atol=1e-6)
    after = [w for layer in model.layers for w in layer.params.values()]
    assert all(np.array_equal(a, b) for a, b in zip(trainable, after))


def test_recalibrate_batch_norm_reaches_inside_residual_blocks_without_running_dropout(rng):
    from fastnn.layers import Conv2D, Residual, SpatialDropout2D

    block = Residual(Conv2D(3, 3, padding="same"), SpatialDropout2D(0.5), BatchNormalization(),
                     shortcut=Conv2D(3, 1))
    model = fastnn.Sequential([block], seed=1)
    model.build((5, 5, 2))
    x = rng.standard_normal((31, 5, 5, 2)).astype(np.float32)
    experiments.recalibrate_batch_norm(model, x, batch_size=10)  # 10 + 10 + 11: no batch of one
    norm, dropout = block.layers[2], block.layers[1]
    assert dropout.step == 0  # its stream untouched
    # batches of 10, 10, 11 rows averaged with equal weight: the mean of the per-batch means
    batches = np.split(np.arange(31), [10, 20])
    want = np.mean([block.layers[0].forward(x[b]).reshape(-1, 3).mean(axis=0) for b in batches], axis=0)
    np.testing.assert_allclose(norm.non_trainable_weights["moving_mean"], want, rtol=1e-5, atol=1e-6)
