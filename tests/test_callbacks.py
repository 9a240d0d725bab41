"""Callbacks: hook order and arguments, stop_training, EarlyStopping, ModelCheckpoint,
TerminateOnNaN / FloatingPointError, and what fit prints at each verbosity."""

import math
import re

import numpy as np
import pytest

import fastnn
from fastnn import optimizers
from fastnn.callbacks import Callback, EarlyStopping, ModelCheckpoint, TerminateOnNaN
from fastnn.layers import Dense, Dropout

SPARSE = "sparse_categorical_crossentropy"


# -- helpers -------------------------------------------------------------------------------------------


def data(n=40, seed=0):
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((n, 2)).astype(np.float32)
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)


def model(seed=0, learning_rate=0.05):
    net = fastnn.Sequential([Dense(8, activation="relu", input_dim=2), Dropout(0.1), Dense(2, activation="softmax")],
                            seed=seed)
    net.compile(optimizers.SGD(learning_rate), SPARSE, metrics=["accuracy"])
    return net


def weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, dict(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


class Scripted(Callback):
    """Overwrites a logged value at each epoch's end with a scripted one. Callbacks run in list
    order, so the ones listed after this one see the script (History, run first, keeps the truth)."""

    def __init__(self, key, values):
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Snapshots(Callback):
    """The model's weights at the end of every epoch."""

    def __init__(self):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


class StopAt(Callback):
    def __init__(self, epoch, batch=None):
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_batch_end(self, batch, logs=None):
        if self.batch is not None and (self.current, batch) == (self.epoch, self.batch):
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.batch is None and epoch == self.epoch:
            self.model.stop_training = True


class PoisonAt(Callback):
    """Sets every weight to NaN after the given batch of the first epoch."""

    def __init__(self, batch):
        self.batch = batch

    def on_batch_end(self, batch, logs=None):
        if batch == self.batch and self.model.epoch == 0:
            self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])


# -- hooks ----------------------------------------------------------------------------------------------


def test_hooks_are_called_in_order_with_indices_and_logs():
    x, y = data(10)
    net = model()
    recorder = Recorder()
    history = net.fit(x, y, epochs=2, batch_size=4, validation_data=data(6, seed=1), callbacks=[recorder], verbose=0)
    assert recorder.model is net
    kinds = [(c[0], *c[1:2]) if c[0] in ("epoch_begin", "epoch_end", "batch_end") else c for c in recorder.calls]
    assert kinds == [("train_begin",),
                     ("epoch_begin", 0), ("batch_end", 0), ("batch_end", 1), ("batch_end", 2), ("epoch_end", 0),
                     ("epoch_begin", 1), ("batch_end", 0), ("batch_end", 1), ("batch_end", 2), ("epoch_end", 1),
                     ("train_end",)]
    batches = [c[2] for c in recorder.calls if c[0] == "batch_end"]
    epochs = [c[2] for c in recorder.calls if c[0] == "epoch_end"]
    assert all(set(logs) == {"loss", "accuracy"} for logs in batches)
    assert all(set(logs) == {"loss", "accuracy", "val_loss", "val_accuracy"} for logs in epochs)
    for epoch in range(2):
        logs = batches[3 * epoch:3 * epoch + 3]
        # Batch logs hold running means over the epoch so far (as Keras's): the epoch's logs are
        # the running means after its last batch.
        assert epochs[epoch]["loss"] == logs[2]["loss"]
        assert epochs[epoch]["accuracy"] == logs[2]["accuracy"]
        assert logs[2]["accuracy"] * 10 == pytest.approx(round(logs[2]["accuracy"] * 10))
        for key, value in epochs[epoch].items():
            assert history.history[key][epoch] == value


def test_a_second_fit_continues_the_epoch_count():
    x, y = data(8)
    net = model()
    net.fit(x, y, epochs=2, verbose=0)
    recorder = Recorder()
    history = net.fit(x, y, epochs=2, callbacks=[recorder], verbose=0)
    assert [c[1] for c in recorder.calls if c[0] == "epoch_begin"] == [2, 3]
    assert history.epoch == [2, 3] and net.epoch == 4


@pytest.mark.parametrize("epoch, batch, epochs_run, batches_run", [(0, 1, 1, 2), (1, None, 2, 6), (2, 0, 3, 7)])
def test_stop_training_from_a_callback(epoch, batch, epochs_run, batches_run):
    x, y = data(12)
    net = model()
    recorder = Recorder()
    history = net.fit(x, y, epochs=5, batch_size=4, callbacks=[StopAt(epoch, batch), recorder], verbose=0)
    assert len(history.history["loss"]) == epochs_run == net.epoch
    assert sum(c[0] == "batch_end" for c in recorder.calls) == batches_run
    assert recorder.calls[-1] == ("train_end",)
    # the flag does not outlive the fit
    assert len(net.fit(x, y, epochs=2, verbose=0).history["loss"]) == 2


def test_callbacks_must_be_callback_instances():
    x, y = data(8)
    with pytest.raises(TypeError, match="`callbacks`"):
        model().fit(x, y, callbacks=[lambda *args: None], verbose=0)


# -- EarlyStopping ----------------------------------------------------------------------------------------


VAL = data(10, seed=1)


def early_stopping_run(script, key="val_loss", **kwargs):
    x, y = data(16)
    net = model()
    snapshots = Snapshots()
    stopper = EarlyStopping(monitor=key, **kwargs)
    history = net.fit(x, y, epochs=len(script), batch_size=8, validation_data=VAL,
                      callbacks=[Scripted(key, script), snapshots, stopper], verbose=0)
    return net, history, snapshots, stopper


def test_early_stopping_restores_the_best_weights():
    script = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
    net, history, snapshots, stopper = early_stopping_run(script, patience=2, restore_best_weights=True)
    epochs_run = len(history.history["loss"])
    assert epochs_run < len(script)
    assert stopper.stopped_epoch == epochs_run - 1
    assert weights_equal(net.get_weights(), snapshots.weights[1])
    assert not weights_equal(net.get_weights(), snapshots.weights[-1])


def test_early_stopping_without_restore_keeps_the_last_weights():
    script = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    net, history, snapshots, _ = early_stopping_run(script, patience=1)
    assert len(history.history["loss"]) < len(script)
    assert weights_equal(net.get_weights(), snapshots.weights[-1])


def test_early_stopping_with_patience_zero_stops_at_the_first_worse_epoch():
    _, history, _, stopper = early_stopping_run([1.0, 0.9, 0.8, 0.85, 0.7, 0.6], patience=0)
    assert len(history.history["loss"]) == 4 and stopper.stopped_epoch == 3


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_early_stopping_stops_after_patience_non_improving_epochs(patience):
    script = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
    _, history, _, stopper = early_stopping_run(script, patience=patience)
    assert stopper.stopped_epoch == 1 + patience
    assert len(history.history["loss"]) == 2 + patience


def test_early_stopping_stops_eventually_and_never_while_improving():
    for patience in (1, 2, 3):
        script = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
        _, history, _, stopper = early_stopping_run(script, patience=patience)
        assert 1 + patience <= stopper.stopped_epoch <= 2 + patience
    _, history, _, stopper = early_stopping_run([1.0, 0.9, 0.8, 0.7, 0.6], patience=0)
    assert stopper.stopped_epoch is None and len(history.history["loss"]) == 5


def test_early_stopping_min_delta():
    script = [1.0, 0.95, 0.92, 0.915, 0.8]  # every step improves, by 0.05, 0.03, 0.005, 0.115
    _, history, _, stopper = early_stopping_run(script, patience=0, min_delta=0.1)
    assert stopper.stopped_epoch == 1 and len(history.history["loss"]) == 2
    _, history, _, stopper = early_stopping_run(script, patience=0, min_delta=0.01)
    assert stopper.stopped_epoch == 3 and len(history.history["loss"]) == 4
    _, history, _, stopper = early_stopping_run(script, patience=0)
    assert stopper.stopped_epoch is None and len(history.history["loss"]) == 5


def test_early_stopping_maximizes_accuracies():
    net, _history, snapshots, stopper = early_stopping_run([0.5, 0.7, 0.6, 0.65, 0.8], key="val_accuracy", patience=0,
                                                           restore_best_weights=True)
    assert stopper.mode == "max"
    assert stopper.stopped_epoch == 2
    assert weights_equal(net.get_weights(), snapshots.weights[1])


def test_early_stopping_on_a_real_divergence():
    """A learning rate so large that the validation loss gets worse: training stops early and
    the best (first) epoch's weights come back."""
    x, y = data(40)
    net = fastnn.Sequential([Dense(16, activation="tanh", input_dim=2), Dense(2, activation="softmax")], seed=3)
    net.compile(optimizers.SGD(0.05), SPARSE)
    net.fit(x, y, epochs=30, batch_size=8, verbose=0)  # a good model first
    net.compile(optimizers.SGD(30.0), SPARSE)
    snapshots = Snapshots()
    stopper = EarlyStopping(patience=1, restore_best_weights=True)
    history = net.fit(x, y, epochs=20, batch_size=8, validation_data=data(40, seed=5), callbacks=[snapshots, stopper],
                      verbose=0)
    val = history.history["val_loss"]
    assert len(val) < 20
    best = int(np.argmin(val))
    assert weights_equal(net.get_weights(), snapshots.weights[best])
    assert all(v >= val[best] for v in val[best + 1:])


def test_monitoring_a_missing_key_raises(tmp_path):
    x, y = data(8)
    with pytest.raises(ValueError, match=r"monitors 'val_loss'.*logged: accuracy, loss.*validation data"):
        model().fit(x, y, epochs=2, callbacks=[EarlyStopping()], verbose=0)
    with pytest.raises(ValueError, match=r"'val_acc'.*logged: accuracy, loss, val_accuracy, val_loss"):
        model().fit(x, y, epochs=2, validation_split=0.25, callbacks=[EarlyStopping(monitor="val_acc")], verbose=0)
    with pytest.raises(ValueError, match=r"ModelCheckpoint monitors 'val_loss'"):
        model().fit(x, y, epochs=2, callbacks=[ModelCheckpoint(tmp_path / "{epoch}.npz", save_best_only=True)],
                    verbose=0)
    assert list(tmp_path.iterdir()) == []


def test_callback_arguments_are_checked():
    with pytest.raises(ValueError, match="`patience` must be >= 0"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="`mode`"):
        EarlyStopping(mode="maximal")
    with pytest.raises(TypeError, match="`monitor`"):
        EarlyStopping(monitor=None)


# -- ModelCheckpoint -------------------------------------------------------------------------------------------


def checkpoint_run(tmp_path, script, **kwargs):
    x, y = data(16)
    net = model()
    snapshots = Snapshots()
    checkpoint = ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}.npz", **kwargs)
    net.fit(x, y, epochs=len(script), batch_size=8, validation_data=VAL,
            callbacks=[Scripted("val_loss", script), snapshots, checkpoint], verbose=0)
    return snapshots


def test_model_checkpoint_save_best_only_writes_on_improvement(tmp_path):
    snapshots = checkpoint_run(tmp_path, [1.0, 1.2, 0.9, 0.95, 0.9, 0.5], save_best_only=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01.npz", "ckpt-03.npz", "ckpt-06.npz"]
    for epoch in (1, 3, 6):
        loaded = fastnn.load_model(tmp_path / f"ckpt-{epoch:02d}.npz")
        assert weights_equal(loaded.get_weights(), snapshots.weights[epoch - 1])
        assert loaded.epoch == epoch


def test_model_checkpoint_every_epoch(tmp_path):
    x, y = data(16)
    net = model()
    net.fit(x, y, epochs=3, callbacks=[ModelCheckpoint(tmp_path / "e{epoch}-{loss:.3f}.npz")], verbose=0)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n.split("-")[0] for n in names] == ["e1", "e2", "e3"]
    assert all(re.fullmatch(r"e\d-\d+\.\d{3}\.npz", n) for n in names)
    assert weights_equal(fastnn.load_model(tmp_path / names[-1]).get_weights(), net.get_weights())


def test_model_checkpoint_max_mode_on_accuracy(tmp_path):
    x, y = data(16)
    net = model()
    checkpoint = ModelCheckpoint(tmp_path / "{epoch}.npz", monitor="val_accuracy", save_best_only=True)
    net.fit(x, y, epochs=4, validation_data=VAL,
            callbacks=[Scripted("val_accuracy", [0.5, 0.4, 0.6, 0.6]), checkpoint], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.npz", "3.npz"]


# -- NaN -----------------------------------------------------------------------------------------------------


def test_terminate_on_nan_stops_training(capsys):
    x, y = data(40)
    net = model()
    recorder = Recorder()
    history = net.fit(x, y, epochs=3, batch_size=8, validation_split=0.2, callbacks=[PoisonAt(1), TerminateOnNaN(),
                                                                                       recorder], verbose=0)
    batch_losses = [c[2]["loss"] for c in recorder.calls if c[0] == "batch_end"]
    assert len(batch_losses) == 3 and math.isnan(batch_losses[2]) and math.isfinite(batch_losses[1])
    assert len(history.history["loss"]) == 1 and math.isnan(history.history["loss"][0])
    assert "val_loss" not in history.history  # no validation of a diverged model
    assert net.epoch == 1
    assert "nan" in capsys.readouterr().err.lower()


def test_nan_loss_without_terminate_on_nan_raises_floating_point_error():
    x, y = data(40)
    net = model()
    with pytest.raises(FloatingPointError, match=r"loss became nan at epoch 1, batch 3.*TerminateOnNaN"):
        net.fit(x, y, epochs=3, batch_size=8, callbacks=[PoisonAt(1)], verbose=0)


def test_terminate_on_nan_with_an_enormous_learning_rate():
    x, y = data(40)
    net = model(learning_rate=1e10)
    history = net.fit(x, y, epochs=3, batch_size=8, callbacks=[TerminateOnNaN()], verbose=0)
    assert len(history.history["loss"]) == 1 and not math.isfinite(history.history["loss"][0])


# -- verbosity ----------------------------------------------------------------------------------------------


def test_verbose_0_prints_nothing(capsys):
    x, y = data(16)
    model().fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    model().evaluate(x, y)
    assert capsys.readouterr() == ("", "")


EPOCH_LINE = re.compile(r"Epoch (\d+)/(\d+) - \d+\.\d\ds - loss: \d+\.\d{4} - accuracy: \d\.\d{4} - "
                        r"val_loss: \d+\.\d{4} - val_accuracy: \d\.\d{4}")


@pytest.mark.parametrize("verbose", [2, "auto"])
def test_verbose_2_and_auto_without_a_tty_print_one_line_per_epoch(capsys, verbose):
    x, y = data(16)
    net = model()
    net.fit(x, y, epochs=3, batch_size=4, validation_split=0.25, verbose=verbose)
    out, err = capsys.readouterr()
    assert err == "" and "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 3 and out.endswith("\n")
    for epoch, line in enumerate(lines, start=1):
        match = EPOCH_LINE.fullmatch(line)
        assert match, line
        assert match.groups() == (str(epoch), "3")
    net.fit(x, y, epochs=1, verbose=verbose)
    assert capsys.readouterr().out.startswith("Epoch 4/4 - ")


def test_verbose_1_draws_a_progress_bar(capsys):
    pytest.importorskip("tqdm")
    x, y = data(16)
    model().fit(x, y, epochs=2, batch_size=4, verbose=1)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "4/4" in text


def test_verbose_auto_on_a_tty_draws_a_bar(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    x, y = data(16)
    model().fit(x, y, epochs=1, batch_size=4, verbose="auto")
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and not EPOCH_LINE.search(out)
