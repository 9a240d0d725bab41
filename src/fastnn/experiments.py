"""Ready-made experiments on the toy datasets, as plain functions (the ``fastnn`` command wraps them).

- :func:`load_dataset`, :func:`split`, :func:`build_mlp`, :func:`build_cnn`, :func:`make_optimizer`:
  the pieces of ``fastnn train`` — a data set by name, a stratified split, a multi-layer
  perceptron or a small residual CNN with a softmax output, an optimizer by name;
  :func:`recalibrate_batch_norm` re-estimates a trained CNN's BatchNorm statistics on clean images.
- :func:`compare_initializations_and_regularizers`: the classic experiment of the course
  material — the same network trained from five weight initializations (zero, small random,
  large random, Xavier, He) and, with He initialization, with no regularization, L1, L2 and
  dropout, over several seeds; :func:`format_table` prints its results as one table and
  :func:`plot_curves` draws its learning curves (needs matplotlib).

Everything is reproducible: the data come from fastnn's counter-based generator with a fixed
seed, and each model's initial weights, dropout masks and batch order from its own seed.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from . import callbacks as _callbacks
from . import datasets as _datasets
from . import init as _init
from . import optimizers as _optimizers
from . import regularizers as _regularizers
from .layers import (BatchNormalization, Conv2D, Dense, Dropout, GlobalAveragePooling2D, MaxPooling2D,
                     RandomRotation, RandomTranslation, RandomZoom, ReLU, Residual)
from .model import Sequential

__all__ = [
    "DATASETS", "ACTIVATIONS", "OPTIMIZERS", "CONFIGURATIONS", "initializer_names",
    "load_dataset", "split", "build_mlp", "build_cnn", "recalibrate_batch_norm", "make_optimizer",
    "Configuration", "Run", "ConfigResult", "Comparison", "compare_initializations_and_regularizers",
    "describe_settings", "format_table", "require_matplotlib", "plot_curves",
]

DATASETS = ("digits", "circles", "moons", "spirals")
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")

CIRCLES_FACTOR = 0.5  # radius of the inner circle: well separated at noise 0.1, overlapping from about 0.2
SPIRAL_ARMS = 3       # classes of the spirals data set (the CS231n toy)

# The learning rate of plain SGD in the comparison when none is given: its library default (0.01)
# is too slow for the few epochs the experiment runs.
COMPARE_SGD_LEARNING_RATE = 0.1

PLOT_HINT = "pip install fastnn[plot]"

# The CNN's augmentation for 8x8 digits: small enough to keep every digit legible (no flips: a
# mirrored 2 or 7 is not a digit). Rotation by up to ±0.03 of a turn (±10.8°), zoom by up to ±5%,
# shifts by up to ±10% of a side (±0.8 pixel); the background is 0, so the border fills with 0.
CNN_ROTATION = 0.03
CNN_ZOOM = 0.05
CNN_TRANSLATION = 0.1
CNN_FILL_MODE = "constant"

# BatchNormalization momentum of the CNN. Keras's 0.99 averages the last ~100 batches, weighted
# toward ones taken with weights many steps old: a run of a few hundred steps (digits: ~40 per
# epoch) ends with moving statistics far from what the final weights produce, and accuracy at
# inference lags (measured on digits, 20 epochs: test 0.84-0.91 with 0.99 against 0.93-0.99 with
# 0.9). 0.9 averages ~10 batches (320 images): recent, still smooth.
CNN_BN_MOMENTUM = 0.9


def initializer_names():
    """The names :func:`fastnn.init.get` accepts as weight initializers, sorted."""
    return list(_init.NAMES)


# -- data, model, optimizer ---------------------------------------------------------------------


def load_dataset(name, *, samples=1000, noise=0.1, seed=0):
    """``(x, y)`` of the data set ``name``: float32 features, int64 labels 0 .. classes-1.

    - ``"digits"``: the 1797 embedded 8x8 UCI digits (64 features in [0, 1], 10 classes);
      ``samples`` and ``noise`` do not apply.
    - ``"circles"``: two concentric circles, radii 1 and 0.5 (2 classes);
    - ``"moons"``: two interleaving half circles (2 classes);
    - ``"spirals"``: three interleaved spiral arms (3 classes).

    The 2-D sets have ``samples`` points with Gaussian ``noise`` on each coordinate, drawn from
    ``seed``; their features are used as they are (they already lie in about [-1.5, 2.5]).
    """
    if name == "digits":
        return _datasets.load_digits()
    if name == "circles":
        return _datasets.make_circles(samples, noise=noise, factor=CIRCLES_FACTOR, seed=seed)
    if name == "moons":
        return _datasets.make_moons(samples, noise=noise, seed=seed)
    if name == "spirals":
        return _datasets.make_spirals(samples, n_classes=SPIRAL_ARMS, noise=noise, seed=seed)
    raise ValueError(f"Argument `name` must be one of {', '.join(DATASETS)}. Received: name={name!r}")


def split(x, y, *, test_size=0.2, seed=0):
    """``x_train, x_test, y_train, y_test``: a split stratified by ``y`` (every class keeps its
    share on both sides), reproducible from ``seed``."""
    return _datasets.train_test_split(x, y, test_size=test_size, stratify=y, seed=seed)


def build_mlp(input_dim, n_classes, hidden, *, activation="relu", kernel_init="auto", l1=0.0, l2=0.0, dropout=0.0,
              seed=0):
    """A Sequential multi-layer perceptron: ``Dense(h, activation)`` (then ``Dropout(dropout)``
    when > 0) per hidden size ``h``, then ``Dense(n_classes, activation="softmax")``.

    ``kernel_init`` (a fastnn.init name, a callable or "auto") and the L1/L2 kernel penalties
    apply to every Dense layer, the output layer included; biases start at zero, unpenalized.
    The model is built (its weights exist) but not compiled.
    """
    regularizer = _kernel_regularizer(l1, l2)
    layers = []
    for units in hidden:
        layers.append(Dense(units, activation=activation, kernel_init=kernel_init, kernel_regularizer=regularizer))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(n_classes, activation="softmax", kernel_init=kernel_init, kernel_regularizer=regularizer))
    model = Sequential(layers, seed=seed)
    model.build((int(input_dim),))
    return model


def build_cnn(input_shape, n_classes, *, filters=(16, 32), kernel_init="auto", batch_norm=True, augmentation=True,
              dropout=0.0, momentum=CNN_BN_MOMENTUM, seed=0):
    """A small residual CNN for small images, as a Sequential (built, not compiled)::

        [RandomRotation, RandomZoom, RandomTranslation]          when augmentation
        Conv2D(f1, 3, same) - BatchNormalization - ReLU
        Conv2D(f2, 3, same) - BatchNormalization - ReLU
        MaxPooling2D(2)
        Residual(Conv2D(f2, 3) - BN - ReLU - Conv2D(f2, 3) - BN) - ReLU
        GlobalAveragePooling2D - [Dropout(dropout)] - Dense(n_classes, softmax)

    Without ``batch_norm`` each Conv2D applies its ReLU in its own epilogue and no
    BatchNormalization layer is added. Dropout sits after the pooling, past every BatchNorm layer,
    so the statistics those see do not change between training and inference.

    Args:
        input_shape: per-image shape (height, width, channels), e.g. (8, 8, 1).
        n_classes: outputs of the softmax.
        filters: (f1, f2), the channels of the two stem convolutions (f2 also in the block).
        kernel_init: initializer of every kernel: a fastnn.init name or callable, or "auto": He
            (normal) for the convolutions, which feed ReLUs, Xavier (uniform) for the softmax layer.
        batch_norm, augmentation: include those layers (augmentation: :data:`CNN_ROTATION`,
            :data:`CNN_ZOOM`, :data:`CNN_TRANSLATION`; never flips).
        dropout: rate of the Dropout before the output layer (0: none).
        momentum: of every BatchNormalization layer (see :data:`CNN_BN_MOMENTUM`).
        seed: the model's seed.
    """
    f1, f2 = (int(count) for count in filters)
    conv_init = "he_normal" if kernel_init == "auto" else kernel_init

    def conv(channels, relu=True):
        if batch_norm:
            layers = [Conv2D(channels, 3, padding="same", kernel_init=conv_init),
                      BatchNormalization(momentum=momentum)]
            return layers + [ReLU()] if relu else layers
        return [Conv2D(channels, 3, padding="same", activation="relu" if relu else None, kernel_init=conv_init)]

    layers = []
    if augmentation:
        layers += [RandomRotation(CNN_ROTATION, fill_mode=CNN_FILL_MODE),
                   RandomZoom(CNN_ZOOM, fill_mode=CNN_FILL_MODE),
                   RandomTranslation(CNN_TRANSLATION, CNN_TRANSLATION, fill_mode=CNN_FILL_MODE)]
    layers += [*conv(f1), *conv(f2), MaxPooling2D(2), Residual(*conv(f2), *conv(f2, relu=False)), ReLU(),
               GlobalAveragePooling2D()]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(n_classes, activation="softmax", kernel_init=kernel_init))
    model = Sequential(layers, seed=seed)
    model.build(tuple(int(size) for size in input_shape))
    return model


def recalibrate_batch_norm(model, x, *, batch_size=None):
    """Sets every BatchNormalization layer's moving statistics to their exact values on ``x``,
    as the network computes at inference (augmentation and dropout off); returns ``model``.

    Why: moving statistics gathered while training describe *augmented* batches. On 8x8 digits
    the bilinear resampling of rotations, zooms and sub-pixel shifts blurs the images (pixel
    variance 0.141 -> 0.098), so statistics from augmented batches misfit clean images and test
    accuracy swings from epoch to epoch (measured: 0.86-0.99). One pass over the clean training
    images fixes that, as ``torch.optim.swa_utils.update_bn`` does after weight averaging. The
    weights do not change, and training uses batch statistics, so nothing else is affected.

    ``batch_size``: None (default) takes ``x`` in one batch: exact statistics; with smaller
    batches each statistic is the mean of the per-batch ones. Layers after the last one holding
    a BatchNormalization layer are not run.
    """
    holders = [index for index, layer in enumerate(model.layers) if _batch_norm_layers(layer)]
    if not holders:
        return model
    norms = [norm for layer in model.layers[: holders[-1] + 1] for norm in _batch_norm_layers(layer)]
    saved = [norm.momentum for norm in norms]
    x = np.ascontiguousarray(x, dtype=model.dtype)
    batch_size = len(x) if batch_size is None else int(batch_size)
    try:
        bounds = list(range(0, len(x), batch_size)) + [len(x)]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] < 2:  # a batch of one has no batch statistics
            del bounds[-2]
        for count, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
            for norm in norms:
                norm.momentum = count / (count + 1)  # a running mean over the batches
            h = x[start:stop]
            for layer in model.layers[: holders[-1] + 1]:
                h = _forward_with_batch_statistics(layer, h)
    finally:
        for norm, momentum in zip(norms, saved):
            norm.momentum = momentum
    return model


def _forward_with_batch_statistics(layer, h):
    """The inference forward pass, except that BatchNormalization layers (also inside Residual
    blocks) normalize with, and record, the batch's statistics; dropout and augmentation stay
    off and their random streams untouched."""
    if isinstance(layer, BatchNormalization):
        return layer.forward(h, training=True)
    if isinstance(layer, Residual):
        branch = h
        for inner in layer.layers:
            branch = _forward_with_batch_statistics(inner, branch)
        shortcut = h if layer.shortcut_layer is None else _forward_with_batch_statistics(layer.shortcut_layer, h)
        return branch + shortcut
    return layer.forward(h, training=False)


def _batch_norm_layers(layer):
    if isinstance(layer, BatchNormalization):
        return [layer]
    if isinstance(layer, Residual):
        inner = layer.layers + ([layer.shortcut_layer] if layer.shortcut_layer is not None else [])
        return [norm for part in inner for norm in _batch_norm_layers(part)]
    return []


def make_optimizer(name, learning_rate=None):
    """The optimizer ``name`` ("sgd", "adam", "adamw", "rmsprop") with its default settings,
    and ``learning_rate`` when given."""
    if learning_rate is None:
        return _optimizers.get(name)
    cls = type(_optimizers.get(name))
    return cls(learning_rate=learning_rate)


def _kernel_regularizer(l1, l2):
    if l1 and l2:
        return _regularizers.L1L2(l1=l1, l2=l2)
    if l1:
        return _regularizers.L1(l1)
    if l2:
        return _regularizers.L2(l2)
    return None


# -- the initialization / regularization comparison -------------------------------------------


@dataclass(frozen=True)
class Configuration:
    """One row of the comparison: how the weights start and how training is regularized."""

    key: str
    label: str
    group: str                   # "initialization" or "regularization"
    kernel_init: str             # a fastnn.init name, or "small_normal" / "large_normal"
    regularization: str = "none"  # "none", "l1", "l2" or "dropout"
    same_as: str | None = None    # the key of a configuration with the very same runs


CONFIGURATIONS = (
    Configuration("zero", "zero", "initialization", "zeros"),
    Configuration("small", "small random N(0, 0.01²)", "initialization", "small_normal"),
    Configuration("large", "large random N(0, 1)", "initialization", "large_normal"),
    Configuration("xavier", "Xavier (normal)", "initialization", "xavier_normal"),
    Configuration("he", "He (normal)", "initialization", "he_normal"),
    Configuration("he+none", "none", "regularization", "he_normal", "none", same_as="he"),
    Configuration("he+l1", "L1", "regularization", "he_normal", "l1"),
    Configuration("he+l2", "L2", "regularization", "he_normal", "l2"),
    Configuration("he+dropout", "dropout", "regularization", "he_normal", "dropout"),
)
_BY_KEY = {config.key: config for config in CONFIGURATIONS}

METRICS = ("train_accuracy", "val_accuracy", "train_loss", "val_loss")


@dataclass
class Run:
    """One training run of one configuration.

    ``history`` maps ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy`` (measured
    after every epoch at inference: no dropout; losses are the cross-entropy without the weight
    penalty) and ``objective`` (the loss ``fit`` minimised over the epoch: cross-entropy with
    dropout active, plus the penalty) to per-epoch lists. ``final`` holds the four measured
    values after the last epoch, and ``penalty`` the weight penalty then. ``diverged`` is True
    when the training loss became NaN or infinite (training stopped there).
    """

    seed: int
    history: dict
    final: dict
    penalty: float
    seconds: float
    diverged: bool = False


@dataclass
class ConfigResult:
    """A configuration and its runs, one per seed."""

    config: Configuration
    runs: list = field(default_factory=list)
    regularization_strength: float = 0.0

    @property
    def key(self):
        return self.config.key

    def values(self, metric):
        """The final ``metric`` of each run that did not diverge."""
        return np.array([run.final[metric] for run in self.runs if not run.diverged], dtype=np.float64)

    def mean(self, metric):
        values = self.values(metric)
        return float(values.mean()) if len(values) else math.nan

    def std(self, metric):
        """The sample standard deviation over seeds (0 for a single run)."""
        values = self.values(metric)
        return float(values.std(ddof=1)) if len(values) > 1 else (0.0 if len(values) else math.nan)

    def mean_curve(self, name):
        """The per-epoch mean over seeds of ``history[name]`` (NaN past a diverged run's end)."""
        epochs = max((len(run.history[name]) for run in self.runs), default=0)
        curves = np.full((len(self.runs), epochs), np.nan)
        for row, run in zip(curves, self.runs):
            row[: len(run.history[name])] = run.history[name]
        with np.errstate(all="ignore"):
            counts = np.sum(np.isfinite(curves), axis=0)
            sums = np.nansum(np.where(np.isfinite(curves), curves, np.nan), axis=0)
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    @property
    def diverged(self):
        return sum(run.diverged for run in self.runs)


@dataclass
class Comparison:
    """What :func:`compare_initializations_and_regularizers` returns: ``results`` (one
    :class:`ConfigResult` per configuration, in table order) and ``settings`` (the arguments and
    the data sizes, for the table's header)."""

    results: list
    settings: dict

    def __getitem__(self, key):
        for result in self.results:
            if result.key == key:
                return result
        raise KeyError(key)

    def keys(self):
        return [result.key for result in self.results]


class _Monitor(_callbacks.Callback):
    """Measures the model at inference on the training and validation sets after every epoch."""

    def __init__(self, train, validation):
        self.train, self.validation = train, validation
        self.history = {name: [] for name in METRICS}

    def measure(self):
        penalty = sum(layer.regularization_penalty() for layer in self.model.layers)
        values = {}
        for prefix, (x, y) in (("train", self.train), ("val", self.validation)):
            logs = self.model.evaluate(x, y)
            values[f"{prefix}_loss"] = logs["loss"] - penalty  # evaluate adds the penalty; we want the data term
            values[f"{prefix}_accuracy"] = logs["accuracy"]
        return values, penalty

    def on_epoch_end(self, epoch, logs=None):
        values, _ = self.measure()
        for name, value in values.items():
            self.history[name].append(value)


def _initializer(kind):
    if kind == "small_normal":
        return functools.partial(_init.normal, std=0.01)
    if kind == "large_normal":
        return functools.partial(_init.normal, std=1.0)
    return kind


def compare_initializations_and_regularizers(
        dataset="circles", *, samples=300, noise=0.2, val_size=0.5, hidden=(64, 64), activation="relu", epochs=200,
        batch_size=32, optimizer="sgd", learning_rate=None, l1=0.002, l2=0.005, dropout=0.3, seeds=3, seed=0,
        data_seed=0, configs=None, progress=None):
    """Trains one network from several initializations and with several regularizers; returns a :class:`Comparison`.

    The rows (:data:`CONFIGURATIONS`), each over ``seeds`` model seeds ``seed, seed + 1, ...``
    on the same data (``data_seed``: the samples and the stratified train/validation split):

    Initialization, without regularization:

    - **zero**: every weight 0. All units of a layer compute the same function and receive the
      same gradient, so they stay equal forever: the symmetry is never broken. With ReLU units
      the hidden outputs and their gradients are exactly 0, only the output biases learn, and
      the accuracy stays at chance (the share of the largest class).
    - **small random** N(0, 0.01²): the symmetry is broken, but each layer shrinks its input's
      scale by about ``0.01 * sqrt(fan_in / 2)``: the signals and gradients vanish with depth and
      plain SGD barely moves from chance in the epochs given (adaptive optimizers such as Adam
      rescale the gradients and recover).
    - **large random** N(0, 1): each layer multiplies the scale by about ``sqrt(fan_in / 2)``:
      huge initial logits, a huge initial loss, saturated softmax; training is erratic, the
      network is overconfident, and the validation loss ends far above the training loss.
    - **Xavier** (Glorot) normal, σ² = 2 / (fan_in + fan_out): keeps the variance of signals
      through *linear, tanh or sigmoid* units (try ``activation="tanh"``).
    - **He** (Kaiming) normal, σ² = 2 / fan_in: keeps it through *ReLU* units, which zero half
      their inputs (fastnn's "auto" for ReLU). With two hidden layers Xavier and He both train
      well; the gap between them grows with depth, as the variance lost per layer compounds.

    Regularization, with He initialization (**none** is the He row itself, not trained twice):

    - **L1** (``l1 * Σ|w|``) pushes weights to exactly zero; **L2** (``l2 * Σw²``) shrinks all of
      them; **dropout** (rate ``dropout`` after each hidden layer) stops units co-adapting. Each
      trades a little training fit for a smaller gap between training and validation loss.

    Args:
        dataset: "circles", "moons", "spirals" or "digits" (see :func:`load_dataset`).
        samples, noise: size and noise of the 2-D data sets.
        val_size: the fraction held out for validation (stratified).
        hidden: the hidden layer sizes.
        activation: the hidden units' activation.
        epochs, batch_size: training length and batch size.
        optimizer, learning_rate: the optimizer's name, and its rate (None: 0.1 for "sgd", which
            needs a larger step in few epochs than its default 0.01; the default otherwise).
        l1, l2, dropout: the strengths of the regularized rows.
        seeds: how many model seeds per configuration (an int), or the seeds themselves.
        seed: the first model seed when ``seeds`` is a count.
        data_seed: the seed of the data and of the split.
        configs: the keys of the configurations to run (default: all nine); "he+none" needs "he".
        progress: None, or ``f(index, total, result, run)`` called after every run.

    Returns:
        A :class:`Comparison`: per configuration its runs with per-epoch histories, final
        metrics (at inference, after the last epoch) and timing.
    """
    keys = [config.key for config in CONFIGURATIONS] if configs is None else list(configs)
    unknown = [key for key in keys if key not in _BY_KEY]
    if unknown:
        raise ValueError(f"Argument `configs` has unknown keys {unknown}; choose from {list(_BY_KEY)}")
    if "he+none" in keys and "he" not in keys:
        keys.insert(keys.index("he+none"), "he")
    keys = [config.key for config in CONFIGURATIONS if config.key in keys]  # table order, no duplicates
    model_seeds = list(range(seed, seed + int(seeds))) if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not model_seeds:
        raise ValueError("Argument `seeds` must give at least one seed")
    hidden = tuple(int(units) for units in hidden)
    if learning_rate is None and optimizer == "sgd":
        learning_rate = COMPARE_SGD_LEARNING_RATE

    x, y = load_dataset(dataset, samples=samples, noise=noise, seed=data_seed)
    x_train, x_val, y_train, y_val = split(x, y, test_size=val_size, seed=data_seed)
    n_classes = int(y.max()) + 1
    strengths = {"none": 0.0, "l1": l1, "l2": l2, "dropout": dropout}

    results = []
    trained = [key for key in keys if _BY_KEY[key].same_as is None]
    total, index = len(trained) * len(model_seeds), 0
    for key in keys:
        config = _BY_KEY[key]
        result = ConfigResult(config, regularization_strength=strengths[config.regularization])
        if config.same_as is not None:
            result.runs = next(r for r in results if r.key == config.same_as).runs
            results.append(result)
            continue
        for model_seed in model_seeds:
            run = _train_once(config, strengths, x_train, y_train, x_val, y_val, n_classes, hidden, activation,
                              epochs, batch_size, optimizer, learning_rate, model_seed)
            result.runs.append(run)
            index += 1
            if progress is not None:
                progress(index, total, result, run)
        results.append(result)

    settings = {
        "dataset": dataset, "samples": len(x), "noise": noise if dataset != "digits" else None,
        "features": x.shape[1], "classes": n_classes, "train": len(x_train), "validation": len(x_val),
        "hidden": hidden, "activation": activation, "epochs": epochs, "batch_size": batch_size,
        "optimizer": optimizer, "learning_rate": make_optimizer(optimizer, learning_rate).learning_rate,
        "l1": l1, "l2": l2, "dropout": dropout, "seeds": model_seeds, "data_seed": data_seed,
        "chance": float(np.bincount(y_val).max() / len(y_val)), "fastnn": __version__,
    }
    return Comparison(results, settings)


def _train_once(config, strengths, x_train, y_train, x_val, y_val, n_classes, hidden, activation, epochs,
                batch_size, optimizer, learning_rate, seed):
    regularization = config.regularization
    model = build_mlp(x_train.shape[1], n_classes, hidden, activation=activation,
                      kernel_init=_initializer(config.kernel_init),
                      l1=strengths["l1"] if regularization == "l1" else 0.0,
                      l2=strengths["l2"] if regularization == "l2" else 0.0,
                      dropout=strengths["dropout"] if regularization == "dropout" else 0.0, seed=seed)
    model.compile(make_optimizer(optimizer, learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    monitor = _Monitor((x_train, y_train), (x_val, y_val))
    monitor.set_model(model)  # fit sets it too; this way measure() works however fit ends
    start = time.perf_counter()
    diverged = False
    try:
        with np.errstate(all="ignore"):  # a diverging run overflows on its way to NaN
            history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, callbacks=[monitor], verbose=0)
        objective = history.history.get("loss", [])
    except FloatingPointError:
        diverged = True
        objective = []
    seconds = time.perf_counter() - start
    with np.errstate(all="ignore"):
        final, penalty = monitor.measure()  # after the last epoch (or where a diverging run stopped)
    history = {name: list(values) for name, values in monitor.history.items()}
    history["objective"] = list(objective)
    return Run(seed=seed, history=history, final=final, penalty=float(penalty), seconds=seconds, diverged=diverged)


def _row_label(result, settings):
    config = result.config
    if config.regularization == "l1":
        return f"L1 ({_number(settings['l1'])})"
    if config.regularization == "l2":
        return f"L2 ({_number(settings['l2'])})"
    if config.regularization == "dropout":
        return f"dropout ({_number(settings['dropout'])})"
    return config.label


def _number(value):
    return f"{value:g}"


def _mean_std(result, metric):
    mean, std = result.mean(metric), result.std(metric)
    if math.isnan(mean):
        return "—"
    return f"{_value(mean)} ± {_value(std)}"


def _value(value):
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.3g}"


def describe_settings(settings):
    """One or two lines saying what was trained on what."""
    data = settings["dataset"]
    if settings["noise"] is not None:
        data += f" ({settings['samples']} samples, noise {_number(settings['noise'])})"
    layers = " -> ".join([str(settings["features"]), *(f"{h} {settings['activation']}" for h in settings["hidden"]),
                          f"{settings['classes']} softmax"])
    seeds = settings["seeds"]
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}" \
        if seeds == list(range(seeds[0], seeds[-1] + 1)) else f"seeds {', '.join(map(str, seeds))}"
    return (f"{data}: {settings['train']} train / {settings['validation']} validation samples "
            f"(chance accuracy {settings['chance']:.3f})\n"
            f"MLP {layers}; {settings['optimizer']} lr={_number(settings['learning_rate'])}, {settings['epochs']} epochs, "
            f"batch {settings['batch_size']}; mean ± std over {len(seeds)} {seed_text}")


def format_table(comparison):
    """The comparison as one text table: a row per configuration, grouped (initialization without
    regularization; regularization with He init), columns train/val accuracy and loss as
    "mean ± std" over the seeds, measured after the last epoch at inference (dropout off);
    losses are the cross-entropy without the weight penalty."""
    settings = comparison.settings
    headers = ("", "train acc", "val acc", "train loss", "val loss", "")
    rows = []
    groups = {"initialization": "initialization (no regularization)", "regularization": "regularization (He init)"}
    current = None
    for result in comparison.results:
        if result.config.group != current:
            current = result.config.group
            rows.append((groups[current],))
        notes = []
        if result.config.same_as is not None:
            notes.append(f"= {_BY_KEY[result.config.same_as].label} row")
        if result.diverged:
            notes.append(f"diverged in {result.diverged}/{len(result.runs)} runs")
        rows.append(("  " + _row_label(result, settings), *(_mean_std(result, metric) for metric in METRICS),
                     "; ".join(notes)))
    widths = [max(len(row[i]) for row in [headers, *rows] if len(row) > i) for i in range(len(headers))]

    def line(cells):
        if len(cells) == 1:
            return cells[0]
        text = cells[0].ljust(widths[0])
        for cell, width in zip(cells[1:5], widths[1:5]):
            text += "  " + cell.rjust(width)
        return (text + ("  " + cells[5] if cells[5] else "")).rstrip()

    rule = "-" * (sum(widths[:5]) + 8)
    lines = [describe_settings(settings), rule, line(headers), rule]
    lines += [line(row) for row in rows]
    lines += [rule, "after the last epoch, at inference (dropout off); loss = cross-entropy without the weight penalty"]
    return "\n".join(lines)


def require_matplotlib():
    """Imports matplotlib, or raises ImportError saying how to install it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(f"Plotting needs matplotlib: {PLOT_HINT}") from None


def _curve_marker(epochs):
    """A one-epoch run's curves are single points, which a line without markers does not draw."""
    return "o" if len(epochs) == 1 else None


def plot_curves(comparison, path):
    """Draws the per-epoch losses (mean over seeds) of every configuration and writes a PNG to ``path``.

    Two panels: the initializations (no regularization) and the regularizers (He init).
    Validation loss solid, training loss dashed, both at inference and without the weight
    penalty, on a log scale. Uses matplotlib's Agg canvas (no display needed); raises
    ImportError with the install hint when matplotlib is missing. Returns ``path``.
    """
    require_matplotlib()
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    figure = Figure(figsize=(12, 4.8), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    titles = {"initialization": "Initialization (no regularization)", "regularization": "Regularization (He init)"}
    for ax, group in zip(axes, ("initialization", "regularization")):
        results = [r for r in comparison.results if r.config.group == group]
        for number, result in enumerate(results):
            color = f"C{number}"
            val, train = result.mean_curve("val_loss"), result.mean_curve("train_loss")
            epochs = np.arange(1, len(val) + 1)
            label = _row_label(result, comparison.settings)
            marker = _curve_marker(epochs)
            ax.plot(epochs, val, color=color, marker=marker, label=label)
            ax.plot(epochs, train, color=color, marker=marker, linestyle="--")
        ax.set_title(f"{titles[group]}: validation solid, train dashed", fontsize="medium")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
    axes[0].set_ylabel("cross-entropy (mean over seeds)")
    figure.suptitle(describe_settings(comparison.settings).replace("\n", "; "), fontsize="small")
    figure.savefig(path, dpi=110)
    return path
