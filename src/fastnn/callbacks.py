"""Hooks into ``Sequential.fit``: early stopping, checkpoints, NaN guards, progress and history.

A callback sees the model as ``self.model`` and the epoch's ``logs`` (loss, metrics and their
``val_`` twins). Setting ``model.stop_training = True`` ends training after the current batch.
"""

from __future__ import annotations

import math
import sys
import time

from . import _validation as check

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "TerminateOnNaN", "ProgressLogger"]


class Callback:
    """Base class: override any of the hooks. ``batch`` and ``epoch`` count from 0."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class History(Callback):
    """What ``fit`` returns: ``history`` maps each logged name to its per-epoch list."""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class _Monitor(Callback):
    """Shared by the callbacks that watch one logged quantity for improvement."""

    def __init__(self, monitor, mode, min_delta=0.0):
        if not isinstance(monitor, str):
            raise TypeError(f"Argument `monitor` must be a logged name such as 'val_loss'. Received: monitor={monitor!r}")
        self.monitor = monitor
        mode = check.choice(mode, "mode", ("auto", "min", "max"))
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.mode = mode
        self.min_delta = abs(check.real(min_delta, "min_delta"))
        self.best = None

    def _value(self, logs):
        if self.monitor not in (logs or {}):
            available = ", ".join(sorted(logs or {})) or "nothing"
            raise ValueError(f"{type(self).__name__} monitors {self.monitor!r}, which fit did not log "
                             f"(logged: {available}); pass validation data for 'val_' names")
        return logs[self.monitor]

    def _improves(self, value):
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stops training when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: a logged name, "val_loss" by default.
        patience: the number of epochs without improvement after which training stops (as in
            Keras; 0 and 1 both stop at the first epoch without improvement).
        min_delta: the smallest change that counts as an improvement.
        restore_best_weights: at the end of training, go back to the weights of the best epoch.
        mode: "min", "max" or "auto" (max for accuracies, min otherwise).
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, restore_best_weights=False, mode="auto"):
        super().__init__(monitor, mode, min_delta)
        self.patience = check.integer(patience, "patience", minimum=0)
        self.restore_best_weights = check.boolean(restore_best_weights, "restore_best_weights")
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.best, self.best_weights, self.wait, self.stopped_epoch = None, None, 0, None

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if self._improves(value):
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Saves the model (``model.save``, atomically) after each epoch, or only when ``monitor`` improves.

    ``path`` may hold ``str.format`` fields filled from the epoch (counted from 1) and the logs,
    e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``.
    """

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto"):
        super().__init__(monitor, mode)
        self.path = path
        self.save_best_only = check.boolean(save_best_only, "save_best_only")

    def on_train_begin(self, logs=None):
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = self._value(logs)
            if not self._improves(value):
                return
            self.best = value
        self.model.save(str(self.path).format(epoch=epoch + 1, **(logs or {})))


class TerminateOnNaN(Callback):
    """Stops training, with a message, as soon as a batch's loss is NaN or infinite.

    Without it, ``fit`` raises ``FloatingPointError`` at that point instead.
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch + 1}: the loss became {loss}; training terminated.", file=sys.stderr)
            self.model.stop_training = True


class ProgressLogger(Callback):
    """Prints progress: a live tqdm bar per epoch (verbose=1) or one line per epoch (verbose=2)."""

    def __init__(self, verbose, epochs, steps, file=None):
        self.verbose, self.epochs, self.steps = verbose, epochs, steps
        self.file = file if file is not None else sys.stdout
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        if self.verbose == 1:
            from tqdm.auto import tqdm  # imported here: only a bar needs it

            self._bar = tqdm(total=self.steps, desc=f"Epoch {epoch + 1}/{self.epochs}", unit="batch",
                             file=self.file, leave=True, dynamic_ncols=True)

    def on_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(_format(logs), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.set_postfix_str(_format(logs))
            self._bar.close()
            self._bar = None
        elif self.verbose == 2:
            elapsed = time.perf_counter() - self._start
            print(f"Epoch {epoch + 1}/{self.epochs} - {elapsed:.2f}s - {_format(logs)}", file=self.file, flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:  # training stopped inside an epoch
            self._bar.close()
            self._bar = None


def _format(logs):
    return " - ".join(f"{key}: {value:.4f}" for key, value in (logs or {}).items())
