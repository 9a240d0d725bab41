"""fastnn.Sequential: a whole-model finite-difference gradient check, the classic results (zero vs He
initialization, L2 and dropout against overfitting), bitwise reproducibility, the semantics of
fit / evaluate / predict / get_weights / summary, training through logits, fusion, and bad input."""

import math

import numpy as np
import pytest
from conftest import num_threads, numeric_gradient

import fastnn
from fastnn import optimizers, regularizers
from fastnn.layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh

SPARSE = "sparse_categorical_crossentropy"


# -- helpers -------------------------------------------------------------------------------------


def circles(n, *, noise, seed, factor=0.5, dtype=np.float32):
    """Two concentric circles, label 0 outside (radius 1) and 1 inside (radius `factor`)."""
    try:
        from fastnn.datasets import make_circles
    except ImportError:
        make_circles = None
    if make_circles is not None:
        return make_circles(n, noise=noise, factor=factor, seed=seed, dtype=dtype)
    gen = np.random.default_rng(seed)
    n_out = n // 2
    t = np.concatenate([np.arange(n_out) / n_out, np.arange(n - n_out) / (n - n_out)]) * 2 * np.pi
    radius = np.where(np.arange(n) < n_out, 1.0, factor)
    x = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1) + noise * gen.standard_normal((n, 2))
    y = (np.arange(n) >= n_out).astype(np.int64)
    order = gen.permutation(n)
    return x[order].astype(dtype), y[order]


class CaptureGradients(optimizers.Optimizer):
    """An optimizer that records the gradients it is given and leaves the parameters alone."""

    def __init__(self):
        super().__init__(learning_rate=1.0)
        self.grads = {}

    def apply(self, params):
        self.iterations += 1
        self.grads = {key: np.array(grad, copy=True) for key, _, grad in params}


class RecordingMSE(fastnn.losses.MeanSquaredError):
    """MSE that records the targets of every training batch (only training asks for a gradient)."""

    def __init__(self):
        self.batches = []

    def gradient(self, y_true, y_pred):
        self.batches.append(np.array(y_true[:, 0], copy=True))
        return super().gradient(y_true, y_pred)


def reset_dropout_steps(model):
    for layer in model.layers:
        if isinstance(layer, Dropout):
            layer.step = 0


def weights_equal(a, b):
    return len(a) == len(b) and all(p.dtype == q.dtype and np.array_equal(p, q) for p, q in zip(a, b))


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def fresh_classifier(seed=0, dtype="float32", **compile_kwargs):
    model = fastnn.Sequential([Dense(8, activation="relu", input_dim=2), Dense(3, activation="softmax")],
                              seed=seed, dtype=dtype)
    model.compile(compile_kwargs.get("optimizer", "sgd"), SPARSE, metrics=["accuracy"])
    return model


# -- 1. the whole-model gradient check -------------------------------------------------------------


def _spec_network():
    """Dense(5, relu) -> Dropout(0.3) -> Dense(4, tanh) -> Dense(3, softmax), sparse CE, penalties."""
    layers = [Dense(5, activation="relu", input_dim=6, kernel_regularizer=regularizers.L2(0.05),
                    bias_regularizer=regularizers.L2(0.02)),
              Dropout(0.3),
              Dense(4, activation="tanh", kernel_regularizer=regularizers.L1L2(l1=0.01, l2=0.03)),
              Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(0.05))]
    return layers, SPARSE, lambda gen, n: gen.integers(0, 3, n)


def _layer_activations_network():
    """Separate activation layers (LeakyReLU fused, a final Softmax layer), unfused classic dropout."""
    layers = [Dense(5, input_dim=6, kernel_regularizer=regularizers.L1(0.02)),
              LeakyReLU(0.1),
              Dropout(0.25, mode="classic"),
              Dense(4, activation="sigmoid", kernel_regularizer=regularizers.L2(0.03)),
              Dense(3),
              Softmax()]
    return layers, "categorical_crossentropy", lambda gen, n: gen.dirichlet(np.ones(3), n)  # soft targets


def _binary_network():
    layers = [Dense(4, activation="tanh", input_dim=6, bias_regularizer=regularizers.L2(0.1)), Dropout(0.2),
              Dense(1), Sigmoid()]
    return layers, "binary_crossentropy", lambda gen, n: gen.integers(0, 2, n).astype(np.float64)


def _regression_network():
    layers = [Dense(5, activation="leaky_relu", input_dim=6), Tanh(), Dense(2, kernel_regularizer="l2")]
    return layers, "mse", lambda gen, n: gen.standard_normal((n, 2))


@pytest.mark.parametrize("network", [_spec_network, _layer_activations_network, _binary_network, _regression_network],
                         ids=["spec", "layer-activations", "binary", "mse"])
def test_training_gradients_match_central_differences_of_the_full_loss(rng, network):
    layers, loss, targets = network()
    model = fastnn.Sequential(layers, seed=int(rng.integers(2**63)), dtype="float64")
    model.compile(CaptureGradients(), loss)
    n = 9
    x = rng.standard_normal((n, 6))
    y = targets(rng, n)
    # random parameters everywhere, biases included (so every penalty is differentiable there)
    model.set_weights([rng.uniform(-1, 1, w.shape) for w in model.get_weights()])
    x, y = model._checked_data(x, y)
    assert all(w.dtype == np.float64 for w in model.get_weights())

    def training_loss():
        reset_dropout_steps(model)  # the same dropout masks at every evaluation
        return model._train_step(x, y)[0]

    before = model.get_weights()
    training_loss()
    analytic = model.optimizer.grads
    assert weights_equal(model.get_weights(), before)  # the capturing optimizer changed nothing
    assert sorted(analytic) == sorted(f"{i}/{name}" for i, layer in enumerate(model.layers) for name in layer.params)

    for i, layer in enumerate(model.layers):
        for name, param in layer.params.items():
            numeric = numeric_gradient(training_loss, param)
            np.testing.assert_allclose(analytic[f"{i}/{name}"], numeric, rtol=1e-5, atol=1e-8,
                                       err_msg=f"gradient of layer {i} ({type(layer).__name__}) {name}")


def test_training_loss_is_data_loss_plus_penalties_with_the_documented_dropout_mask(rng):
    """The loss that a training step reports, recomputed by hand in NumPy: forward pass with the
    dropout mask of step 0 (stream offset 0 of the Dropout layer's seed), softmax cross-entropy,
    plus every regularization penalty."""
    layers, loss, targets = _spec_network()
    model = fastnn.Sequential(layers, seed=int(rng.integers(2**63)), dtype="float64")
    model.compile(CaptureGradients(), loss)
    model.set_weights([rng.uniform(-1, 1, w.shape) for w in model.get_weights()])
    x = rng.standard_normal((16, 6))
    y = targets(rng, 16)
    reset_dropout_steps(model)
    reported = model._train_step(x, y)[0]

    W1, b1, W2, b2, W3, b3 = model.get_weights()
    h1 = np.maximum(x @ W1 + b1, 0)
    keep = fastnn.ops.dropout_mask(h1.shape, 0.3, seed=model.layers[1].seed, offset=0)
    assert not keep.all() and keep.any()
    h1 = h1 * keep / (1 - 0.3)
    h2 = np.tanh(h1 @ W2 + b2)
    logits = h2 @ W3 + b3
    data = -np.mean(log_softmax(logits)[np.arange(16), y])
    penalty = (0.05 * np.sum(W1**2) + 0.02 * np.sum(b1**2) + 0.01 * np.sum(np.abs(W2)) + 0.03 * np.sum(W2**2)
               + 0.05 * np.sum(W3**2))
    assert reported == pytest.approx(data + penalty, rel=1e-12)


# -- 2. the classic results ------------------------------------------------------------------------


def _circle_network(kernel_init, seed):
    return fastnn.Sequential([Dense(16, activation="relu", input_dim=2, kernel_init=kernel_init),
                              Dense(16, activation="relu", kernel_init=kernel_init),
                              Dense(2, activation="softmax", kernel_init=kernel_init)], seed=seed)


def test_zero_initialization_stays_at_chance_on_circles():
    x, y = circles(200, noise=0.05, seed=3)
    model = _circle_network("zeros", seed=1)
    model.compile(optimizers.Adam(0.01), SPARSE, metrics=["accuracy"])
    model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert model.evaluate(x, y)["accuracy"] < 0.6
    # every hidden unit computes the same (zero) function forever: nothing breaks the symmetry
    W1, b1, W2, b2, W3, _ = model.get_weights()
    for w in (W1, b1, W2, b2, W3):
        assert not w.any()


@pytest.mark.parametrize("seed", [1, 2])
def test_he_initialization_learns_circles(seed):
    x, y = circles(200, noise=0.05, seed=3)
    model = _circle_network("he_normal", seed=seed)
    model.compile(optimizers.Adam(0.01), SPARSE, metrics=["accuracy"])
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert model.evaluate(x, y)["accuracy"] > 0.95
    assert history.history["loss"][-1] < history.history["loss"][0]


def _overfit_gap(kind, seed):
    """Train-minus-validation accuracy of an oversized 2-256-256-2 network after long training on 60
    noisy circle samples, measured at inference on both sets."""
    x, y = circles(60, noise=0.25, seed=seed)
    vx, vy = circles(1000, noise=0.25, seed=seed + 100)
    reg = regularizers.L2(0.01) if kind == "l2" else None
    layers = [Dense(256, activation="relu", input_dim=2, kernel_regularizer=reg)]
    if kind == "dropout":
        layers.append(Dropout(0.5))
    layers.append(Dense(256, activation="relu", kernel_regularizer=reg))
    if kind == "dropout":
        layers.append(Dropout(0.5))
    layers.append(Dense(2, activation="softmax", kernel_regularizer=reg))
    model = fastnn.Sequential(layers, seed=seed)
    model.compile(optimizers.Adam(0.01), SPARSE, metrics=["accuracy"])
    model.fit(x, y, epochs=200, batch_size=60, verbose=0)
    return model.evaluate(x, y)["accuracy"] - model.evaluate(vx, vy)["accuracy"]


def test_l2_and_dropout_shrink_the_generalization_gap():
    # One thread: results do not depend on it (see the reproducibility tests), and these small
    # GEMMs gain nothing from a second thread on a busy 2-core machine.
    seeds = (0, 1, 2)
    with num_threads(1):
        gaps = {kind: np.mean([_overfit_gap(kind, seed) for seed in seeds]) for kind in ("none", "l2", "dropout")}
    assert gaps["none"] > 0.1, gaps  # the unregularized network does overfit
    assert gaps["l2"] < gaps["none"], gaps
    assert gaps["dropout"] < gaps["none"], gaps


# -- 3. reproducibility ------------------------------------------------------------------------------


def _reproducible_run(seed, threads):
    # 64 x 128 x 128 multiply-adds per batch and layer: enough for the GEMMs to use 2 threads
    x, y = circles(400, noise=0.1, seed=11)
    with num_threads(threads):
        model = fastnn.Sequential([Dense(128, activation="relu", input_dim=2), Dropout(0.3),
                                   Dense(128), Tanh(), Dropout(0.2, mode="classic"),
                                   Dense(2, activation="softmax")], seed=seed)
        model.compile(optimizers.Adam(0.01), SPARSE, metrics=["accuracy"])
        history = model.fit(x, y, epochs=3, batch_size=64, validation_split=0.2, shuffle=True, verbose=0)
        predictions = model.predict(x)
        evaluation = model.evaluate(x, y)
    return model.get_weights(), history.history, predictions, evaluation


def test_same_seed_is_bitwise_identical_at_one_and_two_threads():
    reference = _reproducible_run(1234, threads=1)
    for threads in (1, 2, 2):
        weights, history, predictions, evaluation = _reproducible_run(1234, threads)
        assert weights_equal(weights, reference[0])
        assert history == reference[1]
        assert np.array_equal(predictions, reference[2])
        assert evaluation == reference[3]
    assert set(reference[1]) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_training_steps_reuse_buffers_with_unchanged_results(rng):
    x, y = circles(200, noise=0.1, seed=3)

    def trained(reuse):
        model = fastnn.Sequential([Dense(32, activation="relu", input_dim=2), Dropout(0.3),
                                   Dense(2, activation="softmax")], seed=5)
        model.compile(optimizers.SGD(0.1, momentum=0.9), SPARSE)
        model.build((2,))
        for layer in model.layers:
            layer.reuse_buffers = reuse
        model.fit(x, y, epochs=2, batch_size=64, verbose=0)  # 200 = 3 x 64 + 8: two batch shapes
        return model

    model = trained(True)
    first = model.layers[0]
    model._train_step(x[:64], y[:64])
    kept = (first._cache[1], first.grads["W"], first.grads["b"])
    model._train_step(x[64:128], y[64:128])
    assert first._cache[1] is kept[0] and first.grads["W"] is kept[1] and first.grads["b"] is kept[2]
    assert weights_equal(trained(True).get_weights(), trained(False).get_weights())


def test_a_layer_on_its_own_returns_new_arrays(rng):
    layer = Dense(4, activation="relu", input_dim=3)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y1, y2 = layer.forward(x, training=True), layer.forward(2 * x, training=True)
    assert not np.shares_memory(y1, y2)
    dx1, dx2 = layer.backward(np.ones((5, 4), np.float32)), layer.backward(np.ones((5, 4), np.float32))
    assert not np.shares_memory(dx1, dx2)


def test_different_seed_gives_different_weights_and_history():
    a_weights, a_history, _, _ = _reproducible_run(1234, threads=2)
    b_weights, b_history, _, _ = _reproducible_run(1235, threads=2)
    assert all(not np.array_equal(p, q) for p, q in zip(a_weights[::2], b_weights[::2]))  # every kernel
    assert a_history["loss"] != b_history["loss"]


def test_unseeded_models_draw_and_keep_a_seed():
    a, b = fastnn.Sequential([Dense(3, input_dim=2)]), fastnn.Sequential([Dense(3, input_dim=2)])
    assert a.seed != b.seed
    again = fastnn.Sequential([Dense(3, input_dim=2)], seed=a.seed)
    assert weights_equal(again.get_weights(), a.get_weights())


def test_predict_and_evaluate_are_deterministic(rng):
    model = fastnn.Sequential([Dense(32, activation="relu", input_dim=4), Dropout(0.5), Dense(3, activation="softmax")],
                              seed=5)
    model.compile("adam", SPARSE, metrics=["accuracy"])
    x = rng.standard_normal((70, 4)).astype(np.float32)
    y = rng.integers(0, 3, 70)
    first, first_eval = model.predict(x), model.evaluate(x, y)
    for threads in (1, 2):
        with num_threads(threads):
            assert np.array_equal(model.predict(x), first)
            assert model.evaluate(x, y) == first_eval
    assert [layer.step for layer in model.layers if isinstance(layer, Dropout)] == [0]  # inference draws no mask


# -- 4. fit / evaluate / predict semantics ----------------------------------------------------------------


def test_history_has_every_metric_per_epoch():
    x, y = circles(80, noise=0.1, seed=2)
    model = fresh_classifier()
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    assert model.history is history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 3 for values in history.history.values())
    assert history.epoch == [0, 1, 2]
    assert all(math.isfinite(v) for values in history.history.values() for v in values)
    assert all(0 <= a <= 1 for a in history.history["accuracy"] + history.history["val_accuracy"])
    # without metrics and validation only the loss
    model = fastnn.Sequential([Dense(1, input_dim=2)], seed=0)
    model.compile("sgd", "mse")
    assert set(model.fit(x, y.astype(np.float32), epochs=2, verbose=0).history) == {"loss"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_evaluate_loss_is_data_loss_from_predict_plus_penalties(rng, dtype):
    model = fastnn.Sequential([Dense(8, activation="relu", input_dim=3, kernel_regularizer=regularizers.L2(0.1)),
                               Dense(4, activation="softmax", kernel_regularizer=regularizers.L2(0.05),
                                     bias_regularizer=regularizers.L1(0.2))], seed=3, dtype=dtype)
    model.compile("sgd", SPARSE, metrics=["accuracy"])
    model.set_weights([rng.uniform(-1, 1, w.shape) for w in model.get_weights()])
    x = rng.standard_normal((50, 3)).astype(dtype)
    y = rng.integers(0, 4, 50)
    W1, _, W2, b2 = (w.astype(np.float64) for w in model.get_weights())
    penalty = 0.1 * np.sum(W1**2) + 0.05 * np.sum(W2**2) + 0.2 * np.sum(np.abs(b2))
    assert penalty > 1
    probabilities = model.predict(x).astype(np.float64)
    data = -np.mean(np.log(probabilities[np.arange(50), y]))
    result = model.evaluate(x, y, batch_size=7)
    rel = 1e-5 if dtype == "float32" else 1e-12
    assert result["loss"] == pytest.approx(data + penalty, rel=rel)
    assert result["accuracy"] == np.mean(np.argmax(probabilities, axis=1) == y)


def test_fit_reports_the_loss_with_penalties():
    """One full batch, no dropout, no shuffling: the epoch's reported loss is the loss at the initial
    weights, which evaluate() reports too (penalties included)."""
    x, y = circles(40, noise=0.1, seed=4)
    model = fastnn.Sequential([Dense(8, activation="tanh", input_dim=2, kernel_regularizer=regularizers.L2(0.5)),
                               Dense(2, activation="softmax", kernel_regularizer=regularizers.L2(0.5))], seed=9)
    model.compile(optimizers.SGD(0.1), SPARSE)
    before = model.evaluate(x, y)["loss"]
    assert model._penalty() > 0.5
    history = model.fit(x, y, epochs=1, batch_size=40, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(before, rel=1e-9)


def _recording_model(n_features=2):
    model = fastnn.Sequential([Dense(1, input_dim=n_features)], seed=0)
    loss = RecordingMSE()
    model.compile(optimizers.SGD(1e-3), loss)
    return model, loss


def test_validation_split_holds_out_the_last_fraction(rng):
    model, loss = _recording_model()
    x = rng.standard_normal((20, 2)).astype(np.float32)
    y = np.arange(20, dtype=np.float32)  # each target names its sample
    history = model.fit(x, y, epochs=2, batch_size=4, validation_split=0.25, verbose=0)
    trained = np.concatenate(loss.batches)
    assert len(trained) == 30
    assert np.array_equal(np.sort(trained[:15]), np.arange(15)) and np.array_equal(np.sort(trained[15:]), np.arange(15))
    # the last epoch's val_loss is the loss on the last 5 samples at the final weights
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x[15:], y[15:])["loss"], rel=1e-6)


def test_validation_data_is_used_and_all_samples_train(rng):
    model, loss = _recording_model()
    x = rng.standard_normal((12, 2)).astype(np.float32)
    y = np.arange(12, dtype=np.float32)
    vx = rng.standard_normal((7, 2)).astype(np.float32)
    vy = rng.standard_normal(7).astype(np.float32)
    history = model.fit(x, y, epochs=1, batch_size=5, validation_data=(vx, vy), verbose=0)
    assert np.array_equal(np.sort(np.concatenate(loss.batches)), np.arange(12))
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(vx, vy)["loss"], rel=1e-6)


def test_shuffle_false_uses_the_data_order(rng):
    model, loss = _recording_model()
    x = rng.standard_normal((18, 2)).astype(np.float32)
    y = np.arange(18, dtype=np.float32)
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    expected = [np.arange(start, min(start + 4, 18)) for start in range(0, 18, 4)] * 2
    assert len(loss.batches) == len(expected)
    for got, want in zip(loss.batches, expected):
        assert np.array_equal(got, want)


def test_shuffle_true_follows_the_documented_epoch_stream(rng):
    model, loss = _recording_model()
    x = rng.standard_normal((18, 2)).astype(np.float32)
    y = np.arange(18, dtype=np.float32)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)  # continues with epoch 2's order
    orders = [np.concatenate(loss.batches[5 * e:5 * e + 5]) for e in range(3)]
    for epoch, order in enumerate(orders):
        documented = fastnn.random.permutation(18, seed=fastnn.random.derive_seed(model.seed, 2**40, epoch))
        assert np.array_equal(order, documented)
        assert not np.array_equal(order, np.arange(18))
    assert not np.array_equal(orders[0], orders[1])
    assert [len(b) for b in loss.batches[:5]] == [4, 4, 4, 4, 2]


def test_epochs_zero_trains_nothing():
    x, y = circles(30, noise=0.1, seed=5)
    model = fresh_classifier()
    before = model.get_weights()
    history = model.fit(x, y, epochs=0, validation_split=0.2, verbose=0)
    assert history.history == {} and history.epoch == []
    assert weights_equal(model.get_weights(), before)
    assert model.epoch == 0 and model.optimizer.iterations == 0


def test_get_weights_and_set_weights_round_trip(rng):
    model = fastnn.Sequential([Dense(4, activation="relu", input_dim=3), Dropout(0.1), ReLU(), Dense(5),
                               Dense(2, activation="softmax")], seed=0)
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(3, 4), (4,), (4, 5), (5,), (5, 2), (2,)]
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    for k, layer in enumerate(dense):
        assert np.array_equal(weights[2 * k], layer.params["W"])
        assert np.array_equal(weights[2 * k + 1], layer.params["b"])
    weights[0][...] = 123.0  # copies: the model is not changed through them
    assert not (model.get_weights()[0] == 123.0).any()

    new = [rng.standard_normal(w.shape).astype(np.float32) for w in weights]
    model.set_weights(new)
    assert weights_equal(model.get_weights(), new)
    new[0][...] = 0  # set_weights copied the values in
    assert model.get_weights()[0].any()
    x = rng.standard_normal((6, 3)).astype(np.float32)
    W1, b1, W2, b2, W3, b3 = model.get_weights()
    z = (np.maximum(x @ W1 + b1, 0) @ W2 + b2) @ W3 + b3
    np.testing.assert_allclose(model.predict(x), np.exp(log_softmax(z.astype(np.float64))), rtol=1e-5, atol=1e-6)


def test_set_weights_rejects_mismatches():
    model = fastnn.Sequential([Dense(4, input_dim=3), Dense(2)], seed=0)
    weights = model.get_weights()
    before = model.get_weights()
    with pytest.raises(ValueError, match="4 arrays; received 3"):
        model.set_weights(weights[:3])
    with pytest.raises(ValueError, match="4 arrays; received 5"):
        model.set_weights(weights + [weights[0]])
    with pytest.raises(ValueError, match=r"Weight 0 must have shape \(3, 4\); received \(4, 3\)"):
        model.set_weights([weights[0].T] + weights[1:])
    with pytest.raises(ValueError, match=r"Weight 3 must have shape \(2,\)"):
        model.set_weights(weights[:3] + [np.zeros((1, 2), np.float32)])
    assert weights_equal(model.get_weights(), before)


def test_summary_mentions_every_layer_and_the_total():
    model = fastnn.Sequential([Dense(300, input_dim=7, name="hidden"), ReLU(name="act"), Dropout(0.5, name="drop"),
                               Dense(10, activation="softmax", name="out")], seed=0, name="demo")
    lines = []
    text = model.summary(print_fn=lines.append)
    assert lines == [text]
    total = 7 * 300 + 300 + 300 * 10 + 10
    assert model.count_params() == total
    assert f"Total params: {total:,}" in text and f"Trainable params: {total:,}" in text
    assert "Non-trainable params: 0" in text
    for label in ("hidden (Dense)", "act (ReLU)", "drop (Dropout)", "out (Dense)", "demo"):
        assert label in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.split() and line.split()[0] in
            ("hidden", "act", "drop", "out")}
    assert "(None, 300)" in rows["hidden"] and f"{7 * 300 + 300:,}" in rows["hidden"]
    assert rows["act"].rstrip().endswith("layer_0") and rows["drop"].rstrip().endswith("layer_0")
    assert "(None, 10)" in rows["out"] and "3,010" in rows["out"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_and_float64_models(dtype):
    x, y = circles(120, noise=0.05, seed=6)
    model = fastnn.Sequential([Dense(16, activation="relu", input_dim=2), Dropout(0.1),
                               Dense(2, activation="softmax")], seed=0, dtype=dtype)
    model.compile(optimizers.Adam(0.02), SPARSE, metrics=["accuracy"])
    assert all(w.dtype == dtype for w in model.get_weights())
    history = model.fit(x.astype(np.float64), y, epochs=30, batch_size=20, verbose=0)  # inputs are converted
    assert all(w.dtype == dtype for w in model.get_weights())
    assert model.predict(x).dtype == dtype
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_float32_and_float64_models_agree_on_the_same_weights(rng):
    x = rng.standard_normal((25, 4))
    m32 = fastnn.Sequential([Dense(6, activation="tanh", input_dim=4), Dense(3, activation="softmax")], seed=1)
    m64 = fastnn.Sequential([Dense(6, activation="tanh", input_dim=4), Dense(3, activation="softmax")], seed=1,
                            dtype="float64")
    m64.set_weights(m32.get_weights())
    np.testing.assert_allclose(m32.predict(x.astype(np.float32)), m64.predict(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_output_trains_through_logits_with_huge_logits(loss, dtype):
    model = fastnn.Sequential([Dense(3, activation="softmax", input_dim=2)], seed=0, dtype=dtype)
    model.compile(optimizers.SGD(0.01), loss, metrics=["accuracy"])
    model.set_weights([np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]]), np.zeros(3)])
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.5, 0.0]], dtype)
    labels = np.array([1, 0, 0, 2])
    y = labels if loss.startswith("sparse") else np.eye(3, dtype=dtype)[labels]
    logits = x.astype(np.float64) @ np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]])
    expected = -np.mean(log_softmax(logits)[np.arange(4), labels])  # about 2e4 / 4 + ... (no clipping)
    assert expected > 5000
    result = model.evaluate(x, y)
    assert math.isfinite(result["loss"])
    assert result["loss"] == pytest.approx(expected, rel=1e-6)
    assert result["accuracy"] == 0.25
    probabilities = model.predict(x)
    assert np.isfinite(probabilities).all()
    np.testing.assert_array_equal(np.argmax(probabilities, axis=1), [0, 1, 0, 0])
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert all(math.isfinite(v) for v in history.history["loss"])
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6)


def test_sigmoid_output_trains_through_logits_with_huge_logits():
    model = fastnn.Sequential([Dense(1, activation="sigmoid", input_dim=1)], seed=0)
    model.compile(optimizers.SGD(0.01), "binary_crossentropy", metrics=["accuracy"])
    model.set_weights([np.array([[1e4]]), np.zeros(1)])
    x = np.array([[1.0], [-1.0], [1.0], [-1.0]], np.float32)
    y = np.array([0.0, 1.0, 1.0, 0.0], np.float32)
    result = model.evaluate(x, y)
    assert result["loss"] == pytest.approx(5000.0, rel=1e-6)  # two samples off by logits of 1e4
    assert result["accuracy"] == 0.5
    history = model.fit(x, y, epochs=1, verbose=0)
    assert math.isfinite(history.history["loss"][0]) and np.isfinite(model.get_weights()[0]).all()


def test_relu_and_dropout_fuse_into_the_dense_layer_and_predict_as_unfused(rng):
    model = fastnn.Sequential([Dense(16, input_dim=5), ReLU(), Dropout(0.4), Dense(3)], seed=7)
    model.compile("sgd", "mse")
    dense, relu, drop, out = model.layers
    assert relu.fused_into is dense and drop.fused_into is dense
    assert dense.fused_into is None and out.fused_into is None
    model.set_weights([w + rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    W1, b1, W2, b2 = model.get_weights()

    # the same layers, standalone (nothing fused), with the model's weights and dropout stream
    d1, r, dr, d2 = Dense(16, input_dim=5), ReLU(), Dropout(0.4, seed=drop.seed), Dense(3)
    d1.build((5,))
    d2.build((16,))
    d1.params["W"][...], d1.params["b"][...], d2.params["W"][...], d2.params["b"][...] = W1, b1, W2, b2
    assert r.fused_into is None and dr.fused_into is None

    x = rng.standard_normal((37, 5)).astype(np.float32)
    one_by_one = d2(dr(r(d1(x))))
    np.testing.assert_array_equal(model.predict(x), one_by_one)
    np.testing.assert_allclose(one_by_one, np.maximum(x @ W1 + b1, 0) @ W2 + b2, rtol=1e-5, atol=1e-5)

    # and in training, the fused epilogue draws the mask the standalone Dropout layer draws
    reset_dropout_steps(model)
    fused_training, _ = model._forward(x, training=True)
    unfused_training = d2.forward(dr.forward(r.forward(d1.forward(x, training=True), training=True), training=True),
                                  training=True)
    assert drop.step == 1 and dr.step == 1
    np.testing.assert_allclose(fused_training, unfused_training, rtol=1e-6, atol=1e-6)
    assert not np.allclose(fused_training, model.predict(x))  # dropout did act


def test_output_softmax_is_not_fused_and_final_activation_left_to_the_loss():
    model = fastnn.Sequential([Dense(4, input_dim=2), Sigmoid()], seed=0)
    model.compile("sgd", "binary_crossentropy")
    assert model.layers[1].fused_into is None  # the loss takes the logits
    model.compile("sgd", "mse")
    assert model.layers[1].fused_into is model.layers[0]


# -- 5. bad input ----------------------------------------------------------------------------------------


X = np.zeros((4, 2), np.float32)
Y = np.array([0, 1, 2, 0])


def _with_value(array, index, value):
    array = np.array(array, dtype=np.float64 if array.dtype.kind != "f" else array.dtype)
    array[index] = value
    return array


BAD_FIT = {
    "length mismatch": ({"x": np.zeros((5, 2), np.float32), "y": Y}, ValueError,
                        r"`x` and `y` must have the same length"),
    "wrong features": ({"x": np.zeros((4, 3), np.float32), "y": Y}, ValueError, r"`x` has \(3,\) features"),
    "1-D x": ({"x": np.zeros(4, np.float32), "y": Y}, ValueError, r"`x` must be a batch"),
    "NaN in x": ({"x": _with_value(X, (1, 1), np.nan), "y": Y}, ValueError, r"`x` contains NaN or infinity"),
    "inf in x": ({"x": _with_value(X, (2, 0), -np.inf), "y": Y}, ValueError, r"`x` contains NaN or infinity"),
    "float32 overflow in x": ({"x": _with_value(X.astype(np.float64), (3, 1), 1e300), "y": Y}, ValueError,
                              r"`x` contains NaN or infinity once converted to float32"),
    "NaN in sparse y": ({"x": X, "y": _with_value(Y, 0, np.nan)}, ValueError, r"`y`"),
    "label too large": ({"x": X, "y": np.array([0, 1, 3, 0])}, ValueError, r"`y` has labels outside the 3 classes"),
    "negative label": ({"x": X, "y": np.array([0, -1, 2, 0])}, ValueError, r"`y` has labels outside the 3 classes"),
    "fractional label": ({"x": X, "y": np.array([0, 1.5, 2, 0])}, ValueError, r"`y` must hold integer class labels"),
    "2-D sparse y": ({"x": X, "y": Y[:, None]}, ValueError,
                     r"`y` must hold integer class labels of shape \(samples,\)"),
    "empty": ({"x": np.zeros((0, 2), np.float32), "y": np.zeros(0, np.int64)}, ValueError, r"`x` is empty"),
    "batch_size 0": ({"x": X, "y": Y, "batch_size": 0}, ValueError, r"`batch_size` must be >= 1"),
    "batch_size -3": ({"x": X, "y": Y, "batch_size": -3}, ValueError, r"`batch_size` must be >= 1"),
    "batch_size float": ({"x": X, "y": Y, "batch_size": 2.0}, TypeError, r"`batch_size` must be an integer"),
    "epochs -1": ({"x": X, "y": Y, "epochs": -1}, ValueError, r"`epochs` must be >= 0"),
    "validation_split 1": ({"x": X, "y": Y, "validation_split": 1.0}, ValueError,
                           r"`validation_split` must be in \[0, 1\)"),
    "validation_split -0.1": ({"x": X, "y": Y, "validation_split": -0.1}, ValueError, r"`validation_split` must be in"),
    "validation_split 2": ({"x": X, "y": Y, "validation_split": 2}, ValueError, r"`validation_split` must be in"),
    "validation_split nan": ({"x": X, "y": Y, "validation_split": float("nan")}, ValueError, r"`validation_split`"),
    "validation_split too small": ({"x": X, "y": Y, "validation_split": 0.1}, ValueError,
                                   r"validation_split=0.1 of 4 samples"),
    "validation_data not a pair": ({"x": X, "y": Y, "validation_data": (X,)}, ValueError,
                                   r"`validation_data` must be a pair"),
    "NaN in validation x": ({"x": X, "y": Y, "validation_data": (_with_value(X, (0, 0), np.nan), Y)}, ValueError,
                            r"`validation_data\[0\]` contains NaN"),
    "validation label too large": ({"x": X, "y": Y, "validation_data": (X, np.array([5, 0, 0, 0]))}, ValueError,
                                   r"`validation_data\[1\]` has labels outside"),
    "verbose 3": ({"x": X, "y": Y, "verbose": 3}, ValueError, r"`verbose` must be 'auto', 0, 1 or 2"),
    "callbacks not callbacks": ({"x": X, "y": Y, "callbacks": [print]}, TypeError, r"`callbacks`"),
    "shuffle not bool": ({"x": X, "y": Y, "shuffle": "yes"}, TypeError, r"`shuffle`"),
}


@pytest.mark.parametrize("case", list(BAD_FIT))
def test_fit_rejects_bad_input_before_training(case):
    kwargs, error, message = BAD_FIT[case]
    model = fresh_classifier()
    before = model.get_weights()
    kwargs = {"verbose": 0, **kwargs}
    with pytest.raises(error, match=message):
        model.fit(**kwargs)
    assert weights_equal(model.get_weights(), before)
    assert model.epoch == 0 and model.optimizer.iterations == 0


def test_categorical_targets_must_match_the_outputs():
    model = fastnn.Sequential([Dense(3, activation="softmax", input_dim=2)], seed=0)
    model.compile("sgd", "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"`y` must have shape \(samples, 3\).*\(4,\).*sparse_categorical"):
        model.fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match=r"`y` must have shape \(samples, 3\).*Received shape \(4, 4\)"):
        model.fit(X, np.eye(4, dtype=np.float32), verbose=0)
    with pytest.raises(ValueError, match=r"`y` contains NaN or infinity"):
        model.fit(X, _with_value(np.eye(3, dtype=np.float32)[Y], (1, 1), np.inf), verbose=0)
    with pytest.raises(ValueError, match=r"`y` must have shape"):
        model.evaluate(X, np.eye(4, dtype=np.float32))


def test_binary_targets_must_be_probabilities_and_finite():
    model = fastnn.Sequential([Dense(1, activation="sigmoid", input_dim=2)], seed=0)
    model.compile("sgd", "binary_crossentropy")
    with pytest.raises(ValueError, match=r"`y` must be in \[0, 1\]"):
        model.fit(X, np.array([0, 1, 2, 0], np.float32), verbose=0)
    with pytest.raises(ValueError, match=r"`y` contains NaN"):
        model.fit(X, np.array([0, np.nan, 1, 0], np.float32), verbose=0)


def test_predict_and_evaluate_reject_bad_input():
    model = fresh_classifier()
    with pytest.raises(ValueError, match=r"`x` has \(3,\) features per sample; the model expects \(2,\)"):
        model.predict(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"`x` contains NaN"):
        model.predict(_with_value(X, (0, 0), np.nan))
    with pytest.raises(ValueError, match=r"`batch_size` must be >= 1"):
        model.predict(X, batch_size=0)
    with pytest.raises(ValueError, match=r"`x` and `y` must have the same length"):
        model.evaluate(X, Y[:3])
    with pytest.raises(ValueError, match=r"`x` is empty"):
        model.evaluate(np.zeros((0, 2), np.float32), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match=r"`y` has labels outside"):
        model.evaluate(X, np.array([0, 0, 0, 7]))


def test_predict_before_the_model_is_built():
    model = fastnn.Sequential([Dense(4), Dense(2)], seed=0)
    with pytest.raises(ValueError, match="not built"):
        model.predict(X)
    assert not model.built


def test_fit_and_evaluate_before_compile():
    model = fastnn.Sequential([Dense(4, input_dim=2), Dense(3)], seed=0)
    with pytest.raises(ValueError, match=r"not compiled.*compile\("):
        model.fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match="not compiled"):
        model.evaluate(X, Y)


@pytest.mark.parametrize("make, message", [
    (lambda: fastnn.Sequential([Dense(2, input_dim=2)]).compile("sgd", "hinge"), r"`loss` must be one of"),
    (lambda: fastnn.Sequential([Dense(2, input_dim=2)]).compile("adagrad", "mse"), r"`optimizer` must be one of"),
    (lambda: fastnn.Sequential([Dense(2, input_dim=2)]).compile("sgd"), r"`loss` is required"),
    (lambda: fastnn.Sequential([Dense(2, input_dim=2)]).compile("sgd", "mse", metrics=["auc"]), r"metric 'auc'"),
    (lambda: Dense(3, activation="gelu"), r"`activation` must be one of"),
    (lambda: Dense(3, kernel_init="glorious"), r"`kernel_init`"),
    (lambda: Dense(3, kernel_regularizer="l3"), r"`kernel_regularizer`"),
], ids=["loss", "optimizer", "no loss", "metric", "activation", "kernel_init", "regularizer"])
def test_unknown_names_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_fit_accepts_lists_like_predict_does():
    model = fresh_classifier()
    x = [[0, 1], [1, 0], [1, 1], [0, 0]]
    assert model.predict(x).shape == (4, 3)
    model.fit(x, [0, 1, 2, 0], verbose=0)


def test_fit_with_none_names_the_argument():
    model = fresh_classifier()
    with pytest.raises((TypeError, ValueError), match="`x`"):
        model.fit(None, [0, 1], verbose=0)
