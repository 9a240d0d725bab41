"""Model files: one NumPy ``.npz`` archive holding every array, plus a JSON description.

The JSON (stored as the uint8 array ``__fastnn__``) records the format version, the
architecture, the compile settings, the optimizer's step count and the per-layer counters
(dropout steps) and the epoch count, so training resumes exactly where it stopped. Arrays:
``layer/{index}/{name}`` for weights (trainable and non-trainable), ``optimizer/{index}/{name}/{slot}`` for optimizer state.

Writes are atomic: the archive goes to a temporary file in the same folder, is flushed and
fsynced, then renamed over the target, so a crash mid-save leaves the previous file intact.
Loading uses ``allow_pickle=False`` and builds only the layer classes fastnn knows, so a file
never executes code; a truncated, corrupted or foreign file raises ValueError.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from . import __version__
from . import optimizers as _optimizers

FORMAT = "fastnn.model"
VERSION = 1
_META = "__fastnn__"


def save_model(model, path):
    """Writes ``model`` to ``path`` atomically (see the module docstring)."""
    path = os.fspath(path)
    meta = {"format": FORMAT, "version": VERSION, "fastnn_version": __version__, "model": model.get_config(),
            "epoch": model.epoch, "layer_state": [layer.get_state() for layer in model.layers], "compile": None}
    arrays = {f"layer/{i}/{name}": param for i, layer in enumerate(model.layers) for name, param in layer.weights.items()}
    if model.loss is not None:
        iterations, state = model.optimizer.get_state()
        meta["compile"] = {"optimizer": _optimizers.serialize(model.optimizer), "loss": model.loss.name,
                           "metrics": model.metrics, "iterations": iterations}
        arrays.update({f"optimizer/{key}": value for key, value in state.items()})
    arrays[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _fsync_folder(folder)


def load_model(path):
    """Reads a model written by ``Sequential.save``: architecture, weights and, when it was
    compiled, its loss, metrics and optimizer state (``fit`` then continues where it stopped).

    Raises:
        ValueError: the file is not a readable fastnn model file (truncated, corrupted, written
            by something else, holding pickled objects, or from a newer format).
    """
    from .layers import REGISTRY
    from .model import Sequential

    path = os.fspath(path)
    with open(path, "rb") as file:  # ours to close, whatever numpy does with a broken archive
        if file.read(4) != b"PK\x03\x04":
            raise ValueError(f"{path!r} is not a readable fastnn model file: it is not a zip archive")
        file.seek(0)
        try:
            with np.load(file, allow_pickle=False) as archive:
                if _META not in archive.files:
                    raise ValueError("it has no fastnn description (not written by Sequential.save)")
                meta = json.loads(archive[_META].tobytes().decode("utf-8"))
                arrays = {name: archive[name] for name in archive.files if name != _META}
        except Exception as error:  # zipfile and numpy raise many types for damaged archives
            raise ValueError(f"{path!r} is not a readable fastnn model file: {error}") from None

    try:
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError("it is not a fastnn model description")
        if meta.get("version") != VERSION:
            raise ValueError(f"it has format version {meta.get('version')!r}; this fastnn reads version {VERSION}")
        config = meta["model"]
        layers = []
        for spec in config["layers"]:
            cls = REGISTRY.get(spec.get("class_name"))
            if cls is None:
                raise ValueError(f"unknown layer class {spec.get('class_name')!r}")
            layers.append(cls.from_config(spec["config"]))
        model = Sequential(layers, seed=config["seed"], dtype=config["dtype"], name=config["name"])
        if config["input_shape"] is not None and not model.built:
            model.build(config["input_shape"])
        for index, layer in enumerate(model.layers):
            for name, param in layer.weights.items():
                value = arrays[f"layer/{index}/{name}"]
                if value.shape != param.shape or value.dtype != param.dtype:
                    raise ValueError(f"layer {index} parameter {name!r} is {value.dtype}{value.shape}, "
                                     f"the architecture needs {param.dtype}{param.shape}")
                param[...] = value
            layer.set_state(meta["layer_state"][index])
        model.epoch = int(meta["epoch"])
        compiled = meta["compile"]
        if compiled is not None:
            model.compile(_optimizers.get(compiled["optimizer"]), compiled["loss"], compiled["metrics"])
            params = {f"{i}/{name}": param for i, layer in enumerate(model.layers) for name, param in layer.params.items()}
            state = {key[len("optimizer/"):]: value for key, value in arrays.items() if key.startswith("optimizer/")}
            model.optimizer.set_state(compiled["iterations"], state, params)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise ValueError(f"{path!r} is not a valid fastnn model file: {error}") from None
    return model


def _fsync_folder(folder):
    """Makes the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
