"""Model files: save -> load_model round trips, exact resumption of training, atomic writes, and
rejection (ValueError, never code execution) of truncated, corrupted, foreign and pickle-bearing files."""

import contextlib
import gc
import json
import os
import pickle
import re
import warnings
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import optimizers, regularizers
from fastnn.layers import Dense, Dropout, LeakyReLU, ReLU, Softmax, Tanh

SPARSE = "sparse_categorical_crossentropy"
META = "__fastnn__"


# -- helpers -------------------------------------------------------------------------------------------


def circles(n, *, noise, seed, factor=0.5):
    try:
        from fastnn.datasets import make_circles
    except ImportError:
        make_circles = None
    if make_circles is not None:
        return make_circles(n, noise=noise, factor=factor, seed=seed)
    gen = np.random.default_rng(seed)
    n_out = n // 2
    t = np.concatenate([np.arange(n_out) / n_out, np.arange(n - n_out) / (n - n_out)]) * 2 * np.pi
    radius = np.where(np.arange(n) < n_out, 1.0, factor)
    x = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1) + noise * gen.standard_normal((n, 2))
    order = gen.permutation(n)
    return x[order].astype(np.float32), (np.arange(n) >= n_out).astype(np.int64)[order]


def weights_equal(a, b):
    return len(a) == len(b) and all(p.dtype == q.dtype and np.array_equal(p, q) for p, q in zip(a, b))


def trained_model(seed=0, epochs=2, dtype="float32"):
    """A model exercising every saved piece: several layer classes with configs, regularizers,
    dropout counters, Adam state and the epoch count."""
    model = fastnn.Sequential([
        Dense(12, input_dim=2, kernel_regularizer=regularizers.L2(0.01), name="first"),
        LeakyReLU(0.2),
        Dropout(0.3),
        Dense(8, activation="tanh", bias_regularizer=regularizers.L1L2(l1=0.01, l2=0.02)),
        Dropout(0.25, mode="classic"),
        Dense(3),
        Softmax(),
    ], seed=seed, dtype=dtype, name="saved")
    model.compile(optimizers.Adam(0.02, beta_1=0.8), SPARSE, metrics=["accuracy"])
    x, y = circles(60, noise=0.1, seed=1)
    y = np.where(x[:, 0] > 0.5, 2, y)  # three classes
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return model, x, y


def saved_bytes(tmp_path, model=None):
    model = model if model is not None else trained_model()[0]
    path = tmp_path / "model.npz"
    model.save(path)
    return path, path.read_bytes(), model


def archive_arrays(path):
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


def write_archive(path, arrays, meta=None):
    arrays = dict(arrays)
    if meta is not None:
        arrays[META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as file:
        np.savez(file, **arrays)


@contextlib.contextmanager
def ignoring_leaked_files():
    """For loads that fail inside numpy.load's zip constructor, which leaks the open file (see
    test_truncated_file_leaves_no_file_open): collect it here, not in a later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


def central_directory(data):
    """Offset of the zip's first central-directory entry."""
    offset = data.find(b"PK\x01\x02")
    assert offset > 0
    return offset


# -- round trips ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_and_load_give_identical_predictions_and_weights(tmp_path, rng, dtype):
    model, x, y = trained_model(dtype=dtype)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = fastnn.load_model(path)
    assert weights_equal(loaded.get_weights(), model.get_weights())
    probe = rng.standard_normal((33, 2)).astype(dtype)
    assert np.array_equal(loaded.predict(probe), model.predict(probe))
    assert loaded.evaluate(x, y) == model.evaluate(x, y)  # penalties (regularizers) included
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in model.layers]
    assert (loaded.seed, loaded.dtype, loaded.name, loaded.input_shape) == (model.seed, model.dtype, model.name,
                                                                             model.input_shape)
    assert loaded.summary(print_fn=lambda _: None) == model.summary(print_fn=lambda _: None)


def test_loaded_model_keeps_compile_settings_and_training_state(tmp_path):
    model, _, _ = trained_model(epochs=3)
    model.save(str(tmp_path / "m.npz"))  # a str path works as well as a Path
    loaded = fastnn.load_model(str(tmp_path / "m.npz"))
    assert type(loaded.optimizer) is optimizers.Adam
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 12  # 3 epochs x 4 batches
    assert loaded.loss.name == SPARSE and loaded.metrics == ["accuracy"]
    assert loaded.epoch == 3
    steps = [layer.step for layer in loaded.layers if isinstance(layer, Dropout)]
    assert steps == [layer.step for layer in model.layers if isinstance(layer, Dropout)] == [12, 12]
    _, model_state = model.optimizer.get_state()
    _, loaded_state = loaded.optimizer.get_state()
    assert sorted(loaded_state) == sorted(model_state) and len(model_state) == 12  # m and v of 6 parameters
    assert all(np.array_equal(loaded_state[key], model_state[key]) for key in model_state)
    assert loaded.layers[0].kernel_regularizer.get_config() == {"l2": 0.01}
    assert loaded.layers[1].fused_into is loaded.layers[0] and loaded.layers[2].fused_into is loaded.layers[0]


def test_uncompiled_and_unbuilt_models_round_trip(tmp_path):
    model = fastnn.Sequential([Dense(4, input_dim=3), ReLU(), Dense(2)], seed=3)
    model.save(tmp_path / "a.npz")
    loaded = fastnn.load_model(tmp_path / "a.npz")
    assert loaded.loss is None and loaded.optimizer is None
    assert weights_equal(loaded.get_weights(), model.get_weights())
    with pytest.raises(ValueError, match="not compiled"):
        loaded.fit(np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32), verbose=0)

    unbuilt = fastnn.Sequential([Dense(4), Tanh(), Dense(2)], seed=4)
    unbuilt.save(tmp_path / "b.npz")
    loaded = fastnn.load_model(tmp_path / "b.npz")
    assert not loaded.built and loaded.get_weights() == []
    x = np.ones((1, 5), np.float32)
    unbuilt.build((5,))
    loaded.build((5,))
    assert np.array_equal(loaded.predict(x), unbuilt.predict(x))  # the same seeds, so the same weights


def _resume_model(seed):
    model = fastnn.Sequential([Dense(16, activation="relu", input_dim=2), Dropout(0.3),
                               Dense(16, activation="relu"), Dropout(0.2, mode="classic"),
                               Dense(2, activation="softmax")], seed=seed)
    model.compile(optimizers.Adam(0.01), SPARSE, metrics=["accuracy"])
    return model


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    x, y = circles(100, noise=0.1, seed=7)
    kwargs = {"batch_size": 16, "validation_split": 0.2, "verbose": 0}

    uninterrupted = _resume_model(seed=21)
    history = uninterrupted.fit(x, y, epochs=2, **kwargs).history

    first = _resume_model(seed=21)
    first.fit(x, y, epochs=1, **kwargs)
    first.save(tmp_path / "half.npz")
    resumed = fastnn.load_model(tmp_path / "half.npz")
    second = resumed.fit(x, y, epochs=1, **kwargs).history

    assert weights_equal(resumed.get_weights(), uninterrupted.get_weights())
    assert {key: values[0] for key, values in second.items()} == {key: values[1] for key, values in history.items()}
    assert resumed.epoch == uninterrupted.epoch == 2

    # each saved piece of state matters: resuming without it gives other weights
    def continued(mutate):
        model = fastnn.load_model(tmp_path / "half.npz")
        mutate(model)
        model.fit(x, y, epochs=1, **kwargs)
        return model.get_weights()

    def reset_dropout(model):
        for layer in model.layers:
            if isinstance(layer, Dropout):
                layer.step = 0

    def fresh_optimizer(model):
        model.compile(optimizers.Adam(0.01), SPARSE, metrics=["accuracy"])

    def restart_epochs(model):
        model.epoch = 0

    for mutate in (reset_dropout, fresh_optimizer, restart_epochs):
        assert not weights_equal(continued(mutate), uninterrupted.get_weights()), mutate.__name__


def test_saving_overwrites_and_keeps_the_folder_clean(tmp_path):
    model, _, _ = trained_model(epochs=1)
    other = fastnn.Sequential([Dense(2, input_dim=2)], seed=1)
    path = tmp_path / "m.npz"
    model.save(path)
    other.save(path)
    assert weights_equal(fastnn.load_model(path).get_weights(), other.get_weights())
    assert os.listdir(tmp_path) == ["m.npz"]


# -- atomic writes ------------------------------------------------------------------------------------------


def _partial_savez(error):
    def savez(file, *args, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise error
    return savez


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()], ids=["OSError", "KeyboardInterrupt"])
def test_a_crash_while_writing_leaves_the_previous_file_intact(tmp_path, monkeypatch, error):
    path, before, model = saved_bytes(tmp_path)
    changed = trained_model(seed=1, epochs=1)[0]
    monkeypatch.setattr(np, "savez", _partial_savez(error))
    with pytest.raises(type(error)):
        changed.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    assert weights_equal(fastnn.load_model(path).get_weights(), model.get_weights())


def test_a_crash_at_the_rename_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path, before, _model = saved_bytes(tmp_path)
    renames = []
    real_replace = os.replace

    def failing_replace(source, target):
        renames.append((os.fspath(source), os.fspath(target)))
        assert os.path.getsize(source) > 0  # the complete archive was written to the temporary file
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="power cut"):
        trained_model(seed=1, epochs=1)[0].save(path)
    monkeypatch.setattr(os, "replace", real_replace)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]
    (source, target), = renames
    assert os.path.dirname(source) == os.path.dirname(target) == str(tmp_path) and source != target


def test_a_crash_on_a_first_save_leaves_nothing(tmp_path, monkeypatch):
    model = fastnn.Sequential([Dense(2, input_dim=2)], seed=0)
    monkeypatch.setattr(np, "savez", _partial_savez(OSError("disk full")))
    with pytest.raises(OSError):
        model.save(tmp_path / "new.npz")
    assert os.listdir(tmp_path) == []


# -- files that are not (valid) model files ---------------------------------------------------------------


TRUNCATIONS = [0, 1, 10, 100, 0.5, -22, -1]


def _truncate(tmp_path, keep):
    path, data, _ = saved_bytes(tmp_path)
    cut = int(len(data) * keep) if isinstance(keep, float) else (keep if keep >= 0 else len(data) + keep)
    path.write_bytes(data[:cut])
    return path


@pytest.mark.parametrize("keep", TRUNCATIONS, ids=lambda k: f"keep={k}")
def test_truncated_file_raises_value_error(tmp_path, keep):
    path = _truncate(tmp_path, keep)
    with ignoring_leaked_files(), pytest.raises(ValueError, match="not a readable fastnn model file"):
        fastnn.load_model(path)


def test_truncated_file_leaves_no_file_open(tmp_path):
    leaks = []
    for keep in (10, -1):
        path = _truncate(tmp_path, keep)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            with pytest.raises(ValueError):
                fastnn.load_model(path)
            gc.collect()
        leaks += [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


@pytest.mark.parametrize("where", [0.3, 0.5, 0.7])
def test_corrupted_file_raises_value_error(tmp_path, where):
    path, data, _ = saved_bytes(tmp_path)
    corrupted = bytearray(data)
    middle = int(len(data) * where)
    for i in range(middle, middle + 8):
        corrupted[i] ^= 0xFF
    path.write_bytes(bytes(corrupted))
    with pytest.raises(ValueError, match="fastnn model file"):
        fastnn.load_model(path)


def test_any_flipped_byte_in_the_members_is_detected(tmp_path):
    """Every member is covered by its CRC: a flipped byte before the central directory either raises
    ValueError or (in a field the reader ignores, such as a timestamp) changes nothing."""
    _path, data, model = saved_bytes(tmp_path)
    reference = model.get_weights()
    corrupt = tmp_path / "corrupt.npz"
    outcomes = {"ValueError": 0, "unchanged": 0}
    for position in range(0, central_directory(data), 13):
        flipped = bytearray(data)
        flipped[position] ^= 0x5A
        corrupt.write_bytes(bytes(flipped))
        try:
            loaded = fastnn.load_model(corrupt)
        except ValueError:
            outcomes["ValueError"] += 1
            continue
        assert weights_equal(loaded.get_weights(), reference), f"byte {position} changed the weights silently"
        outcomes["unchanged"] += 1
    gc.collect()  # a leaked file would be reported here
    assert outcomes["ValueError"] > 3 * outcomes["unchanged"], outcomes


@pytest.mark.parametrize("field, offset, xor", [("compression method", 10, 0xFF), ("encryption flag", 8, 0x01),
                                                ("version needed", 6, 0xFF)])
def test_corrupted_central_directory_raises_value_error(tmp_path, field, offset, xor):
    path, data, _ = saved_bytes(tmp_path)
    corrupted = bytearray(data)
    corrupted[central_directory(data) + offset] ^= xor
    path.write_bytes(bytes(corrupted))
    with ignoring_leaked_files():
        try:
            fastnn.load_model(path)
            raised = None
        except Exception as error:  # noqa: BLE001 - the type is the finding; the traceback must not live on
            raised = f"{type(error).__name__}: {error}"
    assert raised is not None and raised.startswith("ValueError"), raised


def test_foreign_npz_raises_value_error(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.arange(6.0).reshape(2, 3), labels=np.arange(3))
    with pytest.raises(ValueError, match="no fastnn description"):
        fastnn.load_model(path)


@pytest.mark.parametrize("content", [b"", b"hello, this is text\n", b"\x00" * 100, b"PK\x05\x06" + b"\x00" * 18,
                                     b'{"format": "fastnn.model"}'],
                         ids=["empty", "text", "zeros", "empty zip", "json"])
def test_non_zip_file_raises_value_error(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="fastnn model file"):
        fastnn.load_model(path)


def test_npy_file_raises_value_error(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.arange(3.0))
    with pytest.raises(ValueError):
        fastnn.load_model(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastnn.load_model(tmp_path / "nowhere.npz")


class _SideEffect:
    """Unpickling this creates a folder: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _object_array(marker):
    array = np.empty(2, dtype=object)
    array[0] = _SideEffect(str(marker))
    array[1] = "payload"
    return array


@pytest.mark.parametrize("slot", ["extra array", "a parameter", "the description", "optimizer state"])
def test_pickle_bearing_npz_raises_without_executing_code(tmp_path, slot):
    source, _, _ = saved_bytes(tmp_path)
    arrays = archive_arrays(source)
    marker = tmp_path / "pwned"
    key = {"extra array": "evil", "a parameter": "layer/0/W", "the description": META,
           "optimizer state": "optimizer/0/W/m"}[slot]
    assert key == "evil" or key in arrays
    arrays[key] = _object_array(marker)
    path = tmp_path / "evil.npz"
    write_archive(path, arrays)

    # the file really is an exploit for a reader that allows pickles
    with np.load(path, allow_pickle=True) as archive:
        archive[key]
    assert marker.exists()
    marker.rmdir()

    with pytest.raises(ValueError, match="fastnn model file"):
        fastnn.load_model(path)
    assert not marker.exists()


def test_raw_pickle_file_raises_without_executing_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(_SideEffect(str(marker))))
    with pytest.raises(ValueError, match="fastnn model file"):
        fastnn.load_model(path)
    assert not marker.exists()


def _edited(tmp_path, edit):
    source, _, _ = saved_bytes(tmp_path)
    arrays = archive_arrays(source)
    meta = json.loads(arrays.pop(META).tobytes().decode("utf-8"))
    edit(meta)
    path = tmp_path / "edited.npz"
    write_archive(path, arrays, meta)
    return path


@pytest.mark.parametrize("name", ["Evil", "Layer", "Sequential", "Activation", "os.system", "", None])
def test_unknown_layer_class_raises_value_error(tmp_path, name):
    path = _edited(tmp_path, lambda meta: meta["model"]["layers"][3].__setitem__("class_name", name))
    with pytest.raises(ValueError, match=re.escape(f"unknown layer class {name!r}")):
        fastnn.load_model(path)


def test_rewritten_file_without_edit_loads(tmp_path):
    """Guards the editing helpers: without an edit the rewritten file loads."""
    path = _edited(tmp_path, lambda meta: None)
    assert isinstance(fastnn.load_model(path), fastnn.Sequential)


@pytest.mark.parametrize("edit, message", [
    (lambda meta: meta.__setitem__("version", 2), "format version 2"),
    (lambda meta: meta.__setitem__("format", "keras"), "not a fastnn model description"),
    (lambda meta: meta["model"]["layers"][0]["config"].__setitem__("units", 13), "needs float32"),
    (lambda meta: meta["model"]["layers"][0]["config"].__setitem__("evil", 1), "unexpected keyword"),
    (lambda meta: meta["compile"]["optimizer"].__setitem__("class_name", "builtins.eval"), "Unknown optimizer"),
    (lambda meta: meta["compile"].__setitem__("loss", "hinge"), "`loss`"),
    (lambda meta: meta.__setitem__("layer_state", []), "not a valid fastnn model file"),
    (lambda meta: meta.pop("model"), "not a valid fastnn model file"),
], ids=["version", "format", "shape", "config key", "optimizer", "loss", "layer state", "no model"])
def test_inconsistent_description_raises_value_error(tmp_path, edit, message):
    path = _edited(tmp_path, edit)
    with pytest.raises(ValueError, match=message):
        fastnn.load_model(path)


def test_missing_parameter_array_raises_value_error(tmp_path):
    source, _, _ = saved_bytes(tmp_path)
    arrays = archive_arrays(source)
    del arrays["layer/3/b"]
    path = tmp_path / "partial.npz"
    write_archive(path, arrays)
    with pytest.raises(ValueError, match="layer/3/b"):
        fastnn.load_model(path)


def test_model_file_is_a_plain_npz_of_documented_names(tmp_path):
    path, _, model = saved_bytes(tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
    assert f"{META}.npy" in names
    assert "layer/0/W.npy" in names and "layer/5/b.npy" in names
    assert any(name.startswith("optimizer/0/W/") for name in names)
    arrays = archive_arrays(path)
    assert np.array_equal(arrays["layer/0/W"], model.layers[0].params["W"])
