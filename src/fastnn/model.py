"""The Sequential model: a stack of layers with a Keras-like compile / fit / evaluate / predict."""

from __future__ import annotations

import math
import sys

import numpy as np

from . import _core
from . import _validation as check
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers
from . import random as _random
from .callbacks import Callback, History, ProgressLogger, TerminateOnNaN
from .layers import BatchNormalization, Dense, Dropout, Layer, Residual
from .layers.activations import Activation, Sigmoid, Softmax, activation_after

__all__ = ["Sequential"]

_SHUFFLE_STREAM = 2**40  # derive_seed(model seed, _SHUFFLE_STREAM, epoch): the epoch's batch order
_PREDICT_BATCH = 1024    # batch size of evaluate/predict when none is given


class Sequential:
    """A linear stack of layers.

    Reproducibility: with a seed, each layer's stream is ``derive_seed(seed, index)`` (its initial
    weights and its dropout masks, one offset per step) and each epoch's shuffling
    ``derive_seed(seed, 2**40, epoch)``: two fits from the same seed are bitwise identical, at any
    thread count. Without one, a fresh seed is drawn and kept in ``model.seed``.

    Fusion: in training and inference, a Dense layer computes a directly following activation
    layer (ReLU, LeakyReLU, Sigmoid, Tanh) and inverted Dropout in its fused C++ epilogue. A final
    sigmoid/softmax is left to the loss when it is the matching cross-entropy, which then works
    on the logits (stable at any confidence).

    Args:
        layers: the layers, first to last.
        seed: an int in [0, 2**64), or None.
        dtype: "float32" or "float64", for every layer that does not set its own.
        name: a label for ``summary()``.

    Example:
        >>> model = fastnn.Sequential([Dense(64, activation="relu", input_dim=2), Dropout(0.2),
        ...                            Dense(1, activation="sigmoid")], seed=0)
        >>> model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        >>> history = model.fit(x, y, epochs=20, validation_split=0.2, verbose=0)
    """

    def __init__(self, layers=None, *, seed=None, dtype="float32", name=None):
        self.seed = _random.new_seed() if seed is None else check.seed(seed)
        self.dtype = check.float_dtype(dtype)
        self.name = name
        self.layers = []
        self.built = False
        self.input_shape = self.output_shape = None
        self.optimizer = self.loss = None
        self.metrics = []
        self._head = None  # _logits_head(), kept current by _plan_fusion
        self.stop_training = False
        self.epoch = 0  # epochs trained so far: the next epoch's shuffling stream
        self.history = None
        for layer in layers or []:
            self.add(layer)
        if self.layers and getattr(self.layers[0], "input_dim", None) is not None:
            self.build((self.layers[0].input_dim,))

    # -- building -------------------------------------------------------------------------------

    def add(self, layer):
        """Appends a layer; on a built model it is built at once for the current output shape."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes fastnn layers. Received: {layer!r}")
        if any(layer is other for other in self.layers):
            raise ValueError(f"{layer!r} is already in this model")
        self.layers.append(layer)
        if self.built:
            self.output_shape = self._build_layer(len(self.layers) - 1, self.output_shape)
            self._plan_fusion()

    def build(self, input_shape):
        """Creates every layer's parameters for per-sample inputs of shape ``input_shape``."""
        if not self.layers:
            raise ValueError("The model has no layers")
        shape = self.input_shape = check.shape(input_shape, "input_shape")
        for index in range(len(self.layers)):
            shape = self._build_layer(index, shape)
            # Training steps write activations and gradients into arrays kept across steps.
            self.layers[index].reuse_buffers = True
        self.output_shape = shape
        self.built = True
        self._plan_fusion()

    def _build_layer(self, index, shape):
        """Builds layer ``index`` for inputs of ``shape`` with the model's dtype and a derived seed;
        returns its output shape."""
        layer = self.layers[index]
        if layer.dtype is None:
            layer.dtype = self.dtype
        if layer.seed is None:
            layer.seed = _random.derive_seed(self.seed, index)
        if hasattr(layer, "activation_hint"):
            layer.activation_hint = activation_after(self.layers, index)
        if not layer.built:
            layer.build(shape)
        elif layer.input_shape != shape:
            raise ValueError(f"{layer!r} was built for inputs {layer.input_shape}, but receives {shape}")
        return layer.output_shape(shape)

    def compile(self, optimizer="sgd", loss=None, metrics=None):
        """Sets the optimizer (an instance or "sgd", "adam", "adamw", "rmsprop"), the loss (an
        instance or "mse", "binary_crossentropy", "categorical_crossentropy",
        "sparse_categorical_crossentropy") and the metrics (["accuracy"] or None)."""
        if loss is None:
            raise ValueError("Argument `loss` is required, e.g. loss='sparse_categorical_crossentropy'")
        self.optimizer = _optimizers.get(optimizer)
        self.loss = _losses.get(loss)
        self.metrics = _metrics.check_names(metrics)
        if self.built:
            self._plan_fusion()

    # -- training and inference -------------------------------------------------------------------

    def fit(self, x, y, *, epochs=1, batch_size=32, validation_data=None, validation_split=0.0, shuffle=True,
            callbacks=None, verbose="auto"):
        """Trains for ``epochs`` passes over (x, y); returns the :class:`History`.

        The reported loss of an epoch is the mean over its batches (weighted by batch size) of
        the data loss plus every regularization penalty; ``val_`` entries are computed on the
        validation data after the epoch. ``validation_split`` holds out the last fraction of the
        samples (before shuffling). Training stops early if a callback sets
        ``model.stop_training``; a loss that becomes NaN or infinite raises FloatingPointError
        (or, with a TerminateOnNaN callback, stops training with a message).
        """
        self._require_compiled()
        epochs = check.integer(epochs, "epochs", minimum=0)
        batch_size = check.integer(batch_size, "batch_size", minimum=1)
        x, y = self._checked_data(x, y)
        validation = self._validation_set(x, y, validation_data, validation_split)
        if validation is not None and validation_data is None:
            x, y = x[: -len(validation[0])], y[: -len(validation[0])]
        if len(x) == 0:
            raise ValueError("No training samples are left after the validation split")
        check.boolean(shuffle, "shuffle")
        verbose = _verbosity(verbose)
        steps = math.ceil(len(x) / batch_size)

        history = History()
        user_callbacks = _callback_list(callbacks)
        progress = [ProgressLogger(verbose, self.epoch + epochs, steps)] if verbose else []
        hooks = [history, *user_callbacks, *progress]
        for hook in hooks:
            hook.set_model(self)
        self.stop_training = False
        terminate_on_nan = any(isinstance(c, TerminateOnNaN) for c in user_callbacks)
        batch_x = np.empty((min(batch_size, len(x)), *x.shape[1:]), x.dtype)
        batch_y = np.empty((min(batch_size, len(y)), *y.shape[1:]), y.dtype)

        for hook in hooks:
            hook.on_train_begin()
        for _ in range(epochs):
            epoch = self.epoch
            for hook in hooks:
                hook.on_epoch_begin(epoch)
            order = _random.permutation(len(x), seed=_random.derive_seed(self.seed, _SHUFFLE_STREAM, epoch)) \
                if shuffle else np.arange(len(x), dtype=np.int64)
            totals = _Totals(self.metrics)
            for step in range(steps):
                index = order[step * batch_size:(step + 1) * batch_size]
                xb, yb = batch_x[: len(index)], batch_y[: len(index)]
                _core.take_rows(x, index, xb)  # np.take's gather, on all threads
                _core.take_rows(y, index, yb)
                loss, correct, total = self._train_step(xb, yb)
                totals.add(loss, correct, total, len(index))
                for hook in hooks:
                    hook.on_batch_end(step, totals.logs())
                if not math.isfinite(loss):
                    if terminate_on_nan:
                        self.stop_training = True
                    else:
                        for hook in progress:
                            hook.on_train_end()
                        raise FloatingPointError(
                            f"The training loss became {loss} at epoch {epoch + 1}, batch {step + 1}; training "
                            "stopped. Try a lower learning rate or check the inputs for extreme values "
                            "(a TerminateOnNaN callback stops training without this exception).")
                if self.stop_training:
                    break
            self.epoch += 1
            logs = totals.logs()
            if validation is not None and math.isfinite(logs["loss"]):
                logs.update({f"val_{k}": v for k, v in self.evaluate(*validation, batch_size=batch_size).items()})
            for hook in hooks:
                hook.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for hook in hooks:
            hook.on_train_end()
        self.history = history
        return history

    def evaluate(self, x, y, *, batch_size=None, verbose=0):
        """``{"loss": ..., "accuracy": ...}`` on (x, y) at inference (no dropout); the loss
        includes the regularization penalties."""
        self._require_compiled()
        batch_size = _PREDICT_BATCH if batch_size is None else check.integer(batch_size, "batch_size", minimum=1)
        verbose = _verbosity(verbose)
        x, y = self._checked_data(x, y)
        totals = _Totals(self.metrics)
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            outputs, from_logits = self._forward(xb, training=False)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a diverged model reports nan
                loss = self.loss.from_logits(yb, outputs)[0] if from_logits else self.loss(yb, outputs)
            correct, total = self._metric_counts(yb, outputs, from_logits)
            totals.add(loss, correct, total, len(xb))
        logs = totals.logs()
        logs["loss"] += self._penalty()
        if verbose:
            print(" - ".join(f"{key}: {value:.4f}" for key, value in logs.items()))
        return logs

    def predict(self, x, *, batch_size=None):
        """The network's outputs for x at inference (no dropout), computed in batches."""
        if not self.built:
            raise ValueError("The model is not built yet: call fit() first, or give the first layer `input_dim`")
        batch_size = _PREDICT_BATCH if batch_size is None else check.integer(batch_size, "batch_size", minimum=1)
        x = self._checked_inputs(x)
        out = np.empty((len(x), *self.output_shape), self.layers[-1].dtype)
        for start in range(0, len(x), batch_size):
            out[start:start + batch_size] = self._forward(x[start:start + batch_size], training=False, logits=False)[0]
        return out

    # -- weights, description, saving --------------------------------------------------------------

    def get_weights(self):
        """Copies of every weight: [W1, b1, W2, b2, ...] in layer order, each layer's trainable
        weights then its non-trainable ones (BatchNormalization: gamma, beta, moving_mean, moving_variance)."""
        return [param.copy() for layer in self.layers for param in layer.weights.values()]

    def set_weights(self, weights):
        """Loads a list shaped like ``get_weights()``'s (copies the values in)."""
        params = [param for layer in self.layers for param in layer.weights.values()]
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(f"set_weights expects {len(params)} arrays; received {len(weights)}")
        for index, (param, value) in enumerate(zip(params, weights)):
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(f"Weight {index} must have shape {param.shape}; received {value.shape}")
            param[...] = value

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print):
        """Prints (and returns) a table of the layers, their output shapes and parameter counts."""
        rows = [("Layer (type)", "Output shape", "Params", "Fused into")]
        shape = self.input_shape
        for index, layer in enumerate(self.layers):
            label = f"{layer.name or f'layer_{index}'} ({type(layer).__name__})"
            if shape is not None:
                shape = layer.output_shape(shape)
            fused = "" if layer.fused_into is None else f"layer_{self.layers.index(layer.fused_into)}"
            rows.append((label, "(None, " + ", ".join(map(str, shape)) + ")" if shape else "?",
                         f"{layer.count_params():,}", fused))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [f"Model: {self.name or 'sequential'} (seed {self.seed}, {self.dtype.name})"]
        rule = "-" * (sum(widths) + 6)
        lines.append(rule)
        for i, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
            if i == 0:
                lines.append(rule)
        trainable = sum(p.size for layer in self.layers for p in layer.params.values())
        lines += [rule, f"Total params: {self.count_params():,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {self.count_params() - trainable:,}"]
        text = "\n".join(lines)
        print_fn(text)
        return text

    def get_config(self):
        from .layers import REGISTRY

        layers = []
        for layer in self.layers:
            if REGISTRY.get(type(layer).__name__) is not type(layer):
                raise ValueError(f"{type(layer).__name__} is not a built-in layer and cannot be saved")
            layers.append({"class_name": type(layer).__name__, "config": layer.get_config()})
        return {"seed": self.seed, "dtype": self.dtype.name, "name": self.name, "layers": layers,
                "input_shape": None if self.input_shape is None else list(self.input_shape)}

    def save(self, path):
        """Writes architecture, weights, compile settings and optimizer state to one file, atomically.
        See :func:`fastnn.load_model`."""
        from .saving import save_model

        save_model(self, path)

    # -- internals --------------------------------------------------------------------------------

    def _plan_fusion(self):
        """Decides which activation and Dropout layers the layers before them compute in their own
        passes (Dense: its GEMM's epilogue; BatchNormalization: its normalization pass), and spares
        the first layer with parameters the input gradient nobody reads."""
        first_trainable = next((layer for layer in self.layers if layer.params), None)
        for layer in self.layers:
            if hasattr(layer, "input_grad"):
                layer.input_grad = layer is not first_trainable
        self._head = self._logits_head()
        _plan_fused_layers(self.layers, self._head)

    def _logits_head(self):
        """"dense" or "layer" when the loss takes the logits of the final sigmoid/softmax, else None."""
        if self.loss is None or not self.layers or self.loss.logits_activation is None:
            return None
        last = self.layers[-1]
        if isinstance(last, Dense) and last.output_activation == self.loss.logits_activation:
            return "dense"
        kind = {Sigmoid: "sigmoid", Softmax: "softmax"}.get(type(last))
        return "layer" if kind == self.loss.logits_activation else None

    def _forward(self, x, training, logits=True):
        """(outputs, are_logits): the network's outputs, or the logits of its final activation
        when ``logits`` and the loss takes them."""
        head = self._head if logits else None
        body = self.layers[:-1] if head else self.layers
        for layer in body:
            x = layer.forward(x, training=training)
        if head == "dense":
            x = self.layers[-1].forward(x, training=training, logits=True)
        return x, head is not None

    def _train_step(self, x, y):
        # A diverging step yields inf/nan here; fit reports that through the loss, not warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._train_step_unchecked(x, y)

    def _train_step_unchecked(self, x, y):
        fused = self.optimizer.fuses_penalties  # then it adds the penalties' gradients in its update pass
        for layer in self.layers:
            layer.penalties_in_optimizer = fused
        outputs, from_logits = self._forward(x, training=True)
        if from_logits:
            loss, grad = self.loss.from_logits(y, outputs)
        else:
            loss, grad = self.loss(y, outputs), self.loss.gradient(y, outputs)
        correct, total = self._metric_counts(y, outputs, from_logits)
        head = self._head
        if head == "dense":
            grad = self.layers[-1].backward(grad)
        for layer in reversed(self.layers[:-1] if head else self.layers):
            if grad is None:  # below the first layer with parameters: nothing needs it
                break
            grad = layer.backward(grad)
        loss += self._penalty()  # at the weights the gradients were taken at
        if fused:
            self.optimizer.apply([(f"{i}/{name}", param, layer.grads[name], regularizers.get(name))
                                  for i, layer in enumerate(self.layers) for regularizers in [layer.regularizers()]
                                  for name, param in layer.params.items()])
        else:
            self.optimizer.apply([(f"{i}/{name}", param, layer.grads[name])
                                  for i, layer in enumerate(self.layers) for name, param in layer.params.items()])
        return loss, correct, total

    def _penalty(self):
        return sum(layer.regularization_penalty() for layer in self.layers)

    def _metric_counts(self, y, outputs, from_logits):
        if "accuracy" not in self.metrics:
            return 0, 0
        return _metrics.accuracy_counts(self.loss.name, y, outputs, from_logits)

    def _require_compiled(self):
        if self.loss is None:
            raise ValueError("The model is not compiled: call compile(optimizer, loss) first")

    def _checked_inputs(self, x, name="x"):
        """x as a C-contiguous array of the model's dtype (any real numeric input is converted)."""
        if x is None:
            raise TypeError(f"Argument `{name}` is required. Received: {name}=None")
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as error:
            raise TypeError(f"Argument `{name}` could not be converted to an array: {error}") from None
        if x.dtype.kind not in "iuf":
            raise TypeError(f"Argument `{name}` must be numeric. Received dtype {x.dtype}")
        if x.ndim < 2:
            raise ValueError(f"Argument `{name}` must be a batch of samples, at least 2-D. Received shape {x.shape}")
        if not self.built:
            self.build(x.shape[1:])
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"Argument `{name}` has {x.shape[1:]} features per sample; the model expects "
                             f"{self.input_shape}. Received shape {x.shape}")
        with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf: caught below
            converted = np.ascontiguousarray(x, dtype=self.dtype)
        if not _core.all_finite(converted):
            as_dtype = "" if converted.dtype == x.dtype else f" once converted to {converted.dtype}"
            raise ValueError(f"Argument `{name}` contains NaN or infinity{as_dtype}")
        return converted

    def _checked_data(self, x, y, names=("x", "y")):
        x = self._checked_inputs(x, names[0])
        if len(x) == 0:
            raise ValueError(f"Argument `{names[0]}` is empty")
        if y is None:
            raise TypeError(f"Argument `{names[1]}` is required. Received: {names[1]}=None")
        y = np.asarray(y)
        if y.ndim == 0 or len(x) != len(y):
            raise ValueError(f"Arguments `{names[0]}` and `{names[1]}` must have the same length. "
                             f"Received {len(x)} and {1 if y.ndim == 0 else len(y)} samples")
        return x, self._checked_targets(y, names[1])

    def _checked_targets(self, y, name):
        outputs = self.output_shape
        if self.loss.target_kind == "sparse":
            if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
                raise ValueError(f"Argument `{name}` contains NaN or infinity")
            if y.dtype.kind == "f" and np.all(y == np.round(y)):
                y = y.astype(np.int64)
            if y.dtype.kind not in "iu" or y.ndim != 1:
                raise ValueError(f"Argument `{name}` must hold integer class labels of shape (samples,) for "
                                 f"{self.loss.name}. Received dtype {y.dtype}, shape {y.shape}")
            classes = outputs[-1]
            if y.min() < 0 or y.max() >= classes:
                raise ValueError(f"Argument `{name}` has labels outside the {classes} classes [0, {classes - 1}]: "
                                 f"found {y.min()} to {y.max()}")
            return np.ascontiguousarray(y, dtype=np.int64)
        if y.dtype.kind not in "fiub":
            raise TypeError(f"Argument `{name}` must be numeric. Received dtype {y.dtype}")
        y = y.astype(self.layers[-1].dtype)
        if y.ndim == 1 and outputs == (1,):
            y = y[:, None]
        if y.shape[1:] != outputs:
            hint = " (for integer labels use sparse_categorical_crossentropy)" if y.ndim == 1 else ""
            raise ValueError(f"Argument `{name}` must have shape (samples, {', '.join(map(str, outputs))}) to match the "
                             f"model's outputs. Received shape {y.shape}{hint}")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"Argument `{name}` contains NaN or infinity")
        if self.loss.logits_activation == "sigmoid" and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"Argument `{name}` must be in [0, 1] for {self.loss.name}")
        return np.ascontiguousarray(y)

    def _validation_set(self, x, y, validation_data, validation_split):
        if validation_data is not None:
            try:
                vx, vy = validation_data
            except (TypeError, ValueError):
                raise ValueError("Argument `validation_data` must be a pair (x_val, y_val)") from None
            return self._checked_data(vx, vy, names=("validation_data[0]", "validation_data[1]"))
        split = check.real(validation_split, "validation_split")
        if not 0.0 <= split < 1.0:
            raise ValueError(f"Argument `validation_split` must be in [0, 1). Received: validation_split={split}")
        count = int(len(x) * split)
        if split and count == 0:
            raise ValueError(f"validation_split={split} of {len(x)} samples leaves no validation sample")
        return (x[-count:], y[-count:]) if count else None


class _Totals:
    """Batch-size-weighted running means of the loss and accuracy over an epoch."""

    def __init__(self, metrics):
        self.metrics = metrics
        self.loss_sum = 0.0
        self.samples = self.correct = self.total = 0

    def add(self, loss, correct, total, samples):
        self.loss_sum += loss * samples
        self.samples += samples
        self.correct += correct
        self.total += total

    def running(self):
        return {"accuracy": self.correct / self.total} if "accuracy" in self.metrics and self.total else {}

    def logs(self):
        return {"loss": self.loss_sum / max(self.samples, 1), **self.running()}


def _callback_list(callbacks):
    callbacks = list(callbacks or [])
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"Argument `callbacks` must hold fastnn.callbacks.Callback instances. Received: {callback!r}")
    return callbacks


def _verbosity(verbose):
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"Argument `verbose` must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return int(verbose)


def _plan_fused_layers(layers, head=None):
    """Pairs each Dense or BatchNormalization with the activation layer after it (and a Dense with
    an inverted Dropout after that) in one list of layers, and does the same inside every
    Residual's branch. A final activation that the loss takes the logits of (``head``) stays apart."""
    for layer in layers:
        layer.fused_into = None
        if isinstance(layer, (Dense, BatchNormalization)):
            layer.fused_activation = None
        if isinstance(layer, Dense):
            layer.fused_dropout = None
        if isinstance(layer, Residual):
            _plan_fused_layers(layer.layers)
    last = len(layers) - 1
    for index, layer in enumerate(layers):
        dense = isinstance(layer, Dense) and layer.activation != "softmax"
        if not (dense or isinstance(layer, BatchNormalization)):
            continue
        following = index + 1
        nxt = layers[following] if following <= last else None
        free = isinstance(layer, BatchNormalization) or layer.activation is None
        if free and isinstance(nxt, Activation) and nxt.kernel and not (head and following == last):
            layer.fused_activation, nxt.fused_into = nxt, layer
            following += 1
            nxt = layers[following] if following <= last else None
        if dense and isinstance(nxt, Dropout) and nxt.mode == "inverted":
            layer.fused_dropout, nxt.fused_into = nxt, layer
