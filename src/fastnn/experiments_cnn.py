"""The CNN experiment (``fastnn compare --model cnn``): one small residual CNN on the 8x8 digits
trained from four weight initializations, each plain and with batch normalization, augmentation,
dropout and all three, over several seeds.

:func:`compare_cnn` runs it and returns a :class:`fastnn.experiments.Comparison`;
:func:`format_cnn_table` prints it as one table, :func:`plot_cnn_curves` draws its loss curves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import __version__
from . import datasets as _datasets
from . import experiments as _experiments
from .experiments import Comparison, ConfigResult, Run

__all__ = ["CNN_INITIALIZATIONS", "CNN_VARIANTS", "CNN_CONFIGURATIONS", "CNNConfiguration", "compare_cnn",
           "describe_cnn_settings", "format_cnn_table", "plot_cnn_curves"]

# (key, label, kernel_init as experiments._initializer understands it)
CNN_INITIALIZATIONS = (
    ("zero", "zero", "zeros"),
    ("small", "small random N(0, 0.01²)", "small_normal"),
    ("xavier", "Xavier (normal)", "xavier_normal"),
    ("he", "He (normal)", "he_normal"),
)
# (key, label, batch_norm, augmentation, dropout)
CNN_VARIANTS = (
    ("plain", "plain", False, False, False),
    ("bn", "+ batch norm", True, False, False),
    ("aug", "+ augmentation", False, True, False),
    ("dropout", "+ dropout", False, False, True),
    ("all", "all three", True, True, True),
)


@dataclass(frozen=True)
class CNNConfiguration:
    """One row: an initialization and which of batch norm, augmentation and dropout are on."""

    key: str            # "{initialization}+{variant}", e.g. "he+bn"
    group: str          # the initialization's label: the table's group heading
    label: str          # the variant's label
    kernel_init: str
    batch_norm: bool
    augmentation: bool
    dropout: bool
    same_as: None = None  # as experiments.Configuration: every CNN row is trained


CNN_CONFIGURATIONS = tuple(
    CNNConfiguration(f"{init_key}+{key}", init_label, label, init, batch_norm, augmentation, dropout)
    for init_key, init_label, init in CNN_INITIALIZATIONS
    for key, label, batch_norm, augmentation, dropout in CNN_VARIANTS)
_BY_KEY = {config.key: config for config in CNN_CONFIGURATIONS}


class _CNNMonitor(_experiments._Monitor):
    """Measures at inference after every epoch, first re-estimating BatchNorm's statistics on the
    clean training images (see :func:`fastnn.experiments.recalibrate_batch_norm`; training itself
    uses batch statistics, so this leaves the training run unchanged)."""

    def measure(self):
        _experiments.recalibrate_batch_norm(self.model, self.train[0])
        return super().measure()


def compare_cnn(*, val_size=0.5, filters=(16, 32), epochs=4, batch_size=32, optimizer="adam", learning_rate=0.003,
                dropout=0.3, seeds=3, seed=0, data_seed=0, train_samples=None, configs=None, progress=None):
    """Trains :func:`fastnn.experiments.build_cnn` on the 8x8 digits from each initialization,
    plain and with its regularizers; returns a :class:`fastnn.experiments.Comparison`.

    Rows (:data:`CNN_CONFIGURATIONS`): zero, small random N(0, 0.01²), Xavier and He
    initialization of every kernel, each **plain** (Conv-ReLU), **+ batch norm**
    (Conv-BN-ReLU), **+ augmentation** (small rotations, zooms and shifts), **+ dropout**
    (rate ``dropout`` before the output layer) and **all three**; ``seeds`` model seeds each.

    What it shows: zero init never breaks the symmetry (chance, with or without the rest; batch
    norm cannot help, since every channel is 0); small random init shrinks the signal at every
    layer, which batch norm undoes; Xavier and He both train this shallow network, He a little
    faster; augmentation and dropout lower the training accuracy and narrow the gap to validation.

    Args:
        val_size: the share of the digits held out for validation (stratified by ``data_seed``).
        filters, dropout: of the CNN (see :func:`fastnn.experiments.build_cnn`).
        epochs, batch_size, optimizer, learning_rate: training (learning_rate None: the optimizer's).
        seeds: a count of model seeds ``seed, seed + 1, ...``, or the seeds themselves.
        train_samples: train on only the first this many of the training split (None: all of it).
        configs: keys of the rows to run (default: all twenty).
        progress: None, or ``f(index, total, result, run)`` after every run.

    Returns:
        A Comparison whose ``results`` are :class:`fastnn.experiments.ConfigResult` in table order,
        measured at inference after every epoch, BatchNorm statistics re-estimated on the clean
        training images first.
    """
    keys = list(_BY_KEY) if configs is None else list(configs)
    unknown = [key for key in keys if key not in _BY_KEY]
    if unknown:
        raise ValueError(f"Argument `configs` has unknown keys {unknown}; choose from {list(_BY_KEY)}")
    keys = [key for key in _BY_KEY if key in keys]
    model_seeds = list(range(seed, seed + int(seeds))) if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not model_seeds:
        raise ValueError("Argument `seeds` must give at least one seed")

    x, y = _datasets.load_digits(as_images=True)
    x_train, x_val, y_train, y_val = _experiments.split(x, y, test_size=val_size, seed=data_seed)
    if train_samples is not None:
        if not 1 <= int(train_samples) <= len(x_train):
            raise ValueError(f"Argument `train_samples` must be in [1, {len(x_train)}]. "
                             f"Received: train_samples={train_samples}")
        x_train, y_train = x_train[: int(train_samples)], y_train[: int(train_samples)]
    n_classes = int(y.max()) + 1

    results, total, index = [], len(keys) * len(model_seeds), 0
    for key in keys:
        config = _BY_KEY[key]
        result = ConfigResult(config, regularization_strength=dropout if config.dropout else 0.0)
        for model_seed in model_seeds:
            model = _experiments.build_cnn(
                x.shape[1:], n_classes, filters=filters, kernel_init=_experiments._initializer(config.kernel_init),
                batch_norm=config.batch_norm, augmentation=config.augmentation,
                dropout=dropout if config.dropout else 0.0, seed=model_seed)
            run = _fit(model, (x_train, y_train), (x_val, y_val), epochs, batch_size, optimizer, learning_rate,
                       model_seed)
            result.runs.append(run)
            index += 1
            if progress is not None:
                progress(index, total, result, run)
        results.append(result)

    settings = {
        "dataset": "digits", "samples": len(x), "image": tuple(x.shape[1:]), "classes": n_classes,
        "train": len(x_train), "validation": len(x_val), "filters": tuple(int(f) for f in filters),
        "epochs": epochs, "batch_size": batch_size, "optimizer": optimizer,
        "learning_rate": _experiments.make_optimizer(optimizer, learning_rate).learning_rate, "dropout": dropout,
        "seeds": model_seeds, "data_seed": data_seed, "chance": float(np.bincount(y_val).max() / len(y_val)),
        "fastnn": __version__,
    }
    return Comparison(results, settings)


def _fit(model, train, validation, epochs, batch_size, optimizer, learning_rate, seed):
    model.compile(_experiments.make_optimizer(optimizer, learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    monitor = _CNNMonitor(train, validation)
    monitor.set_model(model)
    start = time.perf_counter()
    diverged = False
    try:
        with np.errstate(all="ignore"):
            history = model.fit(*train, epochs=epochs, batch_size=batch_size, callbacks=[monitor], verbose=0)
        objective = history.history.get("loss", [])
    except FloatingPointError:
        diverged, objective = True, []
    seconds = time.perf_counter() - start
    with np.errstate(all="ignore"):
        final, penalty = monitor.measure()
    history = {name: list(values) for name, values in monitor.history.items()}
    history["objective"] = list(objective)
    return Run(seed=seed, history=history, final=final, penalty=float(penalty), seconds=seconds, diverged=diverged)


def describe_cnn_settings(settings):
    """Two lines: the data, and the network and its training."""
    seeds = settings["seeds"]
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}" \
        if seeds == list(range(seeds[0], seeds[-1] + 1)) else f"seeds {', '.join(map(str, seeds))}"
    f1, f2 = settings["filters"]
    image = "x".join(map(str, settings["image"]))
    return (f"digits {image}: {settings['train']} train / {settings['validation']} validation images "
            f"(chance accuracy {settings['chance']:.3f})\n"
            f"CNN conv{f1}-conv{f2}-maxpool-residual(conv{f2} x2)-gap-{settings['classes']} softmax; "
            f"{settings['optimizer']} lr={settings['learning_rate']:g}, {settings['epochs']} epochs, batch "
            f"{settings['batch_size']}; mean ± std over {len(seeds)} {seed_text}")


def format_cnn_table(comparison):
    """The CNN comparison as one table: a group per initialization, a row per variant, columns
    train/val accuracy and loss as "mean ± std" over the seeds."""
    headers = ("", "train acc", "val acc", "train loss", "val loss", "")
    rows, current = [], None
    for result in comparison.results:
        config = result.config
        if config.group != current:
            current = config.group
            rows.append((current,))
        label = config.label + (f" ({comparison.settings['dropout']:g})" if config.key.endswith("+dropout") else "")
        note = f"diverged in {result.diverged}/{len(result.runs)} runs" if result.diverged else ""
        rows.append(("  " + label, *(_experiments._mean_std(result, metric) for metric in _experiments.METRICS), note))
    widths = [max(len(row[i]) for row in [headers, *rows] if len(row) > i) for i in range(len(headers))]

    def line(cells):
        if len(cells) == 1:
            return cells[0]
        text = cells[0].ljust(widths[0])
        text += "".join("  " + cell.rjust(width) for cell, width in zip(cells[1:5], widths[1:5]))
        return (text + ("  " + cells[5] if cells[5] else "")).rstrip()

    rule = "-" * (sum(widths[:5]) + 8)
    lines = [describe_cnn_settings(comparison.settings), rule, line(headers), rule, *(line(row) for row in rows), rule,
             "after the last epoch, at inference (augmentation and dropout off, BatchNorm statistics re-estimated "
             "on the clean training images)"]
    return "\n".join(lines)


def plot_cnn_curves(comparison, path):
    """Draws the per-epoch validation (solid) and training (dashed) loss, mean over seeds, one
    panel per initialization, a colour per variant; writes a PNG to ``path`` and returns it."""
    _experiments.require_matplotlib()
    from matplotlib.figure import Figure

    groups = list(dict.fromkeys(result.config.group for result in comparison.results))
    figure = Figure(figsize=(4 * len(groups), 4.2), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(groups), sharey=True))
    for ax, group in zip(axes, groups):
        for number, result in enumerate(r for r in comparison.results if r.config.group == group):
            val, train = result.mean_curve("val_loss"), result.mean_curve("train_loss")
            epochs = np.arange(1, len(val) + 1)
            marker = _experiments._curve_marker(epochs)
            ax.plot(epochs, val, color=f"C{number}", marker=marker, label=result.config.label)
            ax.plot(epochs, train, color=f"C{number}", marker=marker, linestyle="--")
        ax.set_title(group, fontsize="medium")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("cross-entropy (validation solid, train dashed)")
    axes[-1].legend(fontsize="small")
    figure.suptitle(describe_cnn_settings(comparison.settings).replace("\n", "; "), fontsize="small")
    figure.savefig(path, dpi=110)
    return path
