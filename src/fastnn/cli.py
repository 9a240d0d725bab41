"""The ``fastnn`` command line: ``fastnn train``, ``fastnn compare`` and ``fastnn info``.

- ``fastnn train``: trains a multi-layer perceptron on the embedded 8x8 digits (or a 2-D toy
  set), or with ``--model cnn`` a small residual CNN on the digits as images, shows the
  progress, then the test accuracy and loss and the training time.
- ``fastnn compare``: the initialization / regularization experiment
  (:func:`fastnn.experiments.compare_initializations_and_regularizers`; with ``--model cnn``
  :func:`fastnn.experiments_cnn.compare_cnn`) as one table, or with ``--depth 20,50`` the
  deep-network study (:func:`fastnn.experiments_depth.depth_study`); ``--plot`` draws it to a
  PNG (needs matplotlib).
- ``fastnn info``: the CPU path, threads, caches and GEMM blocking fastnn uses, and a self-check
  of the fused dense layer against NumPy (exit status 1 if it fails).

Every run is reproducible: the seeds default to 0. Bad arguments exit with status 2 and an
argparse message naming the option. Also runnable as ``python -m fastnn.cli``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

import fastnn

from . import experiments, experiments_cnn, experiments_depth

__all__ = ["main", "build_parser"]

PROG = "fastnn"
_SEED_LIMIT = 2**64


# -- argument types: each raises ArgumentTypeError, which argparse reports with the option's name --


def _number(text, convert, what, accept):
    """convert(text) if it parses, is finite and accept() takes it; else ArgumentTypeError(what)."""
    try:
        value = convert(text.strip())
    except ValueError:
        value = None
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or not accept(value):
        raise argparse.ArgumentTypeError(f"{what}; received {text!r}")
    return value


def positive_int(text):
    return _number(text, int, "must be a positive integer", lambda value: value >= 1)


def seed_int(text):
    return _number(text, int, "must be an integer in [0, 2**64)", lambda value: 0 <= value < _SEED_LIMIT)


def nonnegative_float(text):
    return _number(text, float, "must be a finite number >= 0", lambda value: value >= 0)


def positive_float(text):
    return _number(text, float, "must be a finite number > 0", lambda value: value > 0)


def rate(text):
    """A probability in [0, 1): dropout rates, validation fractions."""
    return _number(text, float, "must be a number in [0, 1)", lambda value: 0.0 <= value < 1.0)


def fraction(text):
    """A fraction in (0, 1): the share of samples held out."""
    return _number(text, float, "must be a number in (0, 1)", lambda value: 0.0 < value < 1.0)


def hidden_sizes(text):
    """Comma-separated positive layer sizes, e.g. "128,64"."""
    parts = [part.strip() for part in text.split(",")]
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated positive layer sizes such as 128,64; received {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive integers; received {text!r}")
    return sizes


def depths(text):
    """Comma-separated even depths >= 2, e.g. "20,50"."""
    try:
        values = tuple(int(part.strip()) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated even depths such as 20,50; received {text!r}") from None
    if any(value < 2 or value % 2 for value in values):
        raise argparse.ArgumentTypeError(f"depths must be even numbers >= 2 (a residual block holds two layers); "
                                         f"received {text!r}")
    return values


def filter_counts(text):
    """Two comma-separated positive channel counts, e.g. "16,32"."""
    sizes = hidden_sizes(text)
    if len(sizes) != 2:
        raise argparse.ArgumentTypeError(f"must be two channel counts such as 16,32; received {text!r}")
    return sizes


def initializer(text):
    """"auto" or a fastnn.init name."""
    names = experiments.initializer_names()
    if text == "auto" or text in names:
        return text
    raise argparse.ArgumentTypeError(f"must be 'auto' or a fastnn.init name ({', '.join(names)}); received {text!r}")


def verbosity(text):
    if text == "auto":
        return "auto"
    if text in ("0", "1", "2"):
        return int(text)
    raise argparse.ArgumentTypeError(f"must be 0, 1, 2 or auto; received {text!r}")


# -- the parser -------------------------------------------------------------------------------------


def build_parser():
    """The ``fastnn`` argument parser with its train, compare and info subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="fastnn: fast, exactly reproducible neural networks for the CPU.",
        epilog="Run 'fastnn COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"fastnn {fastnn.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_train(commands)
    _add_compare(commands)
    info = commands.add_parser("info", help="the CPU path, threads, caches and GEMM blocking in use, and a self-check",
                               description="Reports what fastnn detected on this machine (ISA path, threads, caches, "
                                           "GEMM blocking) and checks the fused dense layer against NumPy; exits "
                                           "with status 1 if that check fails.")
    info.set_defaults(handler=_info, subparser=info)
    return parser


def _add_data_options(parser, default_dataset, default_samples, default_noise):
    parser.add_argument("--dataset", choices=experiments.DATASETS, default=default_dataset,
                        help=f"digits: the 1797 embedded 8x8 UCI digits, 10 classes; circles (radii 1 and "
                             f"{experiments.CIRCLES_FACTOR:g}), moons: 2 classes; spirals: "
                             f"{experiments.SPIRAL_ARMS} arms (default: {default_dataset})")
    parser.add_argument("--samples", type=positive_int, default=default_samples,
                        help=f"points of a 2-D data set (default: {default_samples})")
    parser.add_argument("--noise", type=nonnegative_float, default=default_noise,
                        help=f"standard deviation of the noise on each coordinate of a 2-D data set "
                             f"(default: {default_noise:g})")


def _add_training_options(parser, hidden, epochs, optimizer, lr_help, epochs_help=None, optimizer_help=None):
    parser.add_argument("--hidden", type=hidden_sizes, default=hidden, metavar="SIZES",
                        help=f"comma-separated hidden layer sizes (default: {','.join(map(str, hidden))})")
    parser.add_argument("--activation", choices=experiments.ACTIVATIONS, default="relu",
                        help="activation of the hidden layers (default: relu)")
    parser.add_argument("--optimizer", choices=experiments.OPTIMIZERS, default=optimizer,
                        help=optimizer_help or f"(default: {optimizer})")
    parser.add_argument("--lr", type=positive_float, default=None, metavar="RATE", help=lr_help)
    parser.add_argument("--epochs", type=positive_int, default=epochs, help=epochs_help or f"(default: {epochs})")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="(default: 32)")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help=f"threads of fastnn's kernels (default: {fastnn.get_num_threads()}, from OMP_NUM_THREADS; "
                             "results do not depend on it)")


def _add_model_option(parser, help):
    parser.add_argument("--model", choices=MODELS, default="mlp", help=help)


def _add_cnn_options(parser, filters):
    parser.add_argument("--filters", type=filter_counts, default=filters, metavar="F1,F2",
                        help=f"--model cnn: channels of the two stem convolutions, the second also in the residual "
                             f"block (default: {','.join(map(str, filters))})")


MODELS = ("mlp", "cnn")


def _add_train(commands):
    parser = commands.add_parser(
        "train", help="train an MLP or a CNN (default: an MLP on the digits) and report test accuracy and time",
        description="Trains a multi-layer perceptron (hidden Dense layers, then a softmax output, sparse categorical "
                    "cross-entropy) on a stratified train/test split, showing its progress; then prints the test "
                    "accuracy and loss and the training time. With --model cnn: a small residual CNN on the digits "
                    "as 8x8 images (Conv-BN-ReLU x2, max pooling, a residual block, global average pooling, softmax) "
                    "with augmentation (small rotations, zooms and shifts; no flips). Reproducible: the same --seed "
                    "gives the same numbers.")
    _add_model_option(parser, "mlp: hidden Dense layers (--hidden, --activation, --l1, --l2); cnn: the residual CNN "
                              "on the digits as images (--filters, --no-batch-norm, --no-augmentation) (default: mlp)")
    _add_data_options(parser, "digits", 1000, 0.1)
    _add_training_options(parser, (128, 64), 30, "adam", "learning rate (default: the optimizer's own: 0.01 for sgd, "
                                                         "0.001 for the others)")
    parser.add_argument("--init", type=initializer, default="auto", metavar="NAME",
                        help="weight initializer of every Dense (and Conv2D) layer: a fastnn.init name (he_normal, "
                             "xavier_uniform, zeros, ...) or auto: He for ReLU-like units, Xavier otherwise "
                             "(default: auto)")
    parser.add_argument("--l1", type=nonnegative_float, default=0.0, help="L1 penalty factor on every kernel (default: 0)")
    parser.add_argument("--l2", type=nonnegative_float, default=0.0, help="L2 penalty factor on every kernel (default: 0)")
    parser.add_argument("--dropout", type=rate, default=0.0, metavar="RATE",
                        help="dropout rate after each hidden layer (cnn: before the output layer), in [0, 1) "
                             "(default: 0)")
    _add_cnn_options(parser, (16, 32))
    parser.add_argument("--no-batch-norm", dest="batch_norm", action="store_false",
                        help="--model cnn: no BatchNormalization layers (each Conv2D applies its own ReLU)")
    parser.add_argument("--no-augmentation", dest="augmentation", action="store_false",
                        help="--model cnn: no augmentation layers")
    parser.add_argument("--test-size", type=fraction, default=0.2, metavar="FRACTION",
                        help="share of the samples held out for the test (default: 0.2)")
    parser.add_argument("--validation-split", type=rate, default=0.1, metavar="FRACTION",
                        help="share of the training samples fit validates on after each epoch (default: 0.1)")
    parser.add_argument("--seed", type=seed_int, default=0,
                        help="seed of the data, the split, the initial weights, dropout and shuffling (default: 0)")
    parser.add_argument("--save", metavar="PATH", default=None,
                        help="write the trained model to PATH (load it with fastnn.load_model)")
    parser.add_argument("--verbose", type=verbosity, default="auto", metavar="{0,1,2,auto}",
                        help="0: results only; 1: a progress bar per epoch; 2: a line per epoch; "
                             "auto: 1 on a terminal, else 2 (default: auto)")
    parser.set_defaults(handler=_train, subparser=parser)


def _add_compare(commands):
    defaults = experiments.compare_initializations_and_regularizers.__kwdefaults__
    cnn = experiments_cnn.compare_cnn.__kwdefaults__
    depth = experiments_depth.depth_study.__kwdefaults__
    parser = commands.add_parser(
        "compare", help="compare weight initializations and regularizers over several seeds, or deep stacks' scales",
        description="The classic experiment: one network trained from zero, small random N(0, 0.01²), large random "
                    "N(0, 1), Xavier and He initialization, then with He initialization and no regularization, L1, "
                    "L2 or dropout; each over several seeds on the same data. Prints one table of the final "
                    "training and validation accuracy and loss (mean ± std over the seeds). With --model cnn: the "
                    "residual CNN of 'fastnn train --model cnn' on the digits from zero, small random, Xavier and He "
                    "initialization, each plain, with batch norm, augmentation, dropout and all three. With --depth: "
                    "the deep-network study instead, plain and residual ReLU stacks of those depths from Xavier and "
                    "He initialization, and the scale of their activations and gradients layer by layer.",
        epilog="Zero init never breaks the symmetry between units (chance accuracy); small random init makes the "
               "signals vanish, large random init explode; Xavier suits tanh/sigmoid, He suits ReLU; L1, L2 and "
               "dropout narrow the gap between training and validation loss; batch norm rescues a badly scaled "
               "init; in deep plain stacks Xavier's gradients vanish toward the input, He's keep their scale, "
               "and a residual stack's never vanish.")
    _add_model_option(parser, "mlp: the MLP on --dataset; cnn: the residual CNN on the digits as images "
                              "(default: mlp)")
    parser.add_argument("--depth", type=depths, default=None, metavar="DEPTHS",
                        help="run the deep-network study instead, for these comma-separated even depths, e.g. 20,50: "
                             "one forward/backward pass per stack on a batch of digits; uses --width, --seed, --plot")
    parser.add_argument("--width", type=positive_int, default=depth["width"],
                        help=f"--depth: units per hidden layer (default: {depth['width']})")
    _add_data_options(parser, "circles", defaults["samples"], defaults["noise"])
    _add_training_options(parser, defaults["hidden"], None, None,
                          f"learning rate (default: mlp {experiments.COMPARE_SGD_LEARNING_RATE:g} for sgd, the "
                          f"optimizer's own for the others; cnn {cnn['learning_rate']:g})",
                          epochs_help=f"(default: mlp {defaults['epochs']}, cnn {cnn['epochs']})",
                          optimizer_help=f"(default: mlp {defaults['optimizer']}, cnn {cnn['optimizer']})")
    _add_cnn_options(parser, cnn["filters"])
    parser.add_argument("--l1", type=nonnegative_float, default=defaults["l1"],
                        help=f"L1 factor of the L1 row (default: {defaults['l1']:g})")
    parser.add_argument("--l2", type=nonnegative_float, default=defaults["l2"],
                        help=f"L2 factor of the L2 row (default: {defaults['l2']:g})")
    parser.add_argument("--dropout", type=rate, default=None, metavar="RATE",
                        help=f"dropout rate of the dropout rows, in [0, 1) (default: mlp {defaults['dropout']:g}, "
                             f"cnn {cnn['dropout']:g})")
    parser.add_argument("--val-size", type=fraction, default=defaults["val_size"], metavar="FRACTION",
                        help=f"share of the samples held out for validation (default: {defaults['val_size']:g})")
    parser.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                        help=f"model seeds per configuration: --seed, --seed + 1, ... "
                             f"(default: mlp {defaults['seeds']}, cnn {cnn['seeds']})")
    parser.add_argument("--seed", type=seed_int, default=0, help="the first model seed (default: 0)")
    parser.add_argument("--data-seed", type=seed_int, default=0,
                        help="seed of the data and the train/validation split (default: 0)")
    parser.add_argument("--plot", metavar="PNG", default=None,
                        help="also draw the per-epoch losses (mean over seeds), or with --depth the per-layer scales, "
                             f"to this PNG file (needs matplotlib: {experiments.PLOT_HINT})")
    parser.add_argument("--verbose", type=int, choices=(0, 1), default=1,
                        help="1: a line on stderr after each training run (default: 1)")
    parser.set_defaults(handler=_compare, subparser=parser)


# -- commands -----------------------------------------------------------------------------------------


def main(argv=None):
    """Runs the ``fastnn`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status
    (0 success, 1 failure, 2 bad arguments) instead of raising SystemExit."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.handler(args, args.subparser)
    except SystemExit as exit:  # argparse's errors, --help and --version
        return _exit_code(exit.code)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _exit_code(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _check_output_path(subparser, option, path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        subparser.error(f"argument {option}: the folder {folder!r} does not exist")
    if os.path.isdir(path):
        subparser.error(f"argument {option}: {path!r} is a folder; give a file name")


def _train(args, subparser):
    if args.save is not None:
        _check_output_path(subparser, "--save", args.save)
    _check_model_options(args, subparser)
    if args.threads is not None:
        fastnn.set_num_threads(args.threads)
    try:
        if args.model == "cnn":
            x, y = fastnn.datasets.load_digits(as_images=True)
        else:
            x, y = experiments.load_dataset(args.dataset, samples=args.samples, noise=args.noise, seed=args.seed)
        x_train, x_test, y_train, y_test = experiments.split(x, y, test_size=args.test_size, seed=args.seed)
        n_classes = int(y.max()) + 1
        if args.model == "cnn":
            model = experiments.build_cnn(x.shape[1:], n_classes, filters=args.filters, kernel_init=args.init,
                                          batch_norm=args.batch_norm, augmentation=args.augmentation,
                                          dropout=args.dropout, seed=args.seed)
        else:
            model = experiments.build_mlp(x.shape[1], n_classes, args.hidden, activation=args.activation,
                                          kernel_init=args.init, l1=args.l1, l2=args.l2, dropout=args.dropout,
                                          seed=args.seed)
        optimizer = experiments.make_optimizer(args.optimizer, args.lr)
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
        n_validation = int(len(x_train) * args.validation_split)
        if args.validation_split and n_validation == 0:
            subparser.error(f"argument --validation-split: {args.validation_split:g} of {len(x_train)} training samples "
                            "leaves no validation sample")
        if n_validation >= len(x_train):
            subparser.error("argument --validation-split: no training samples are left")
    except ValueError as error:  # what the library rejects in this combination of arguments
        subparser.error(str(error))

    n_fit = len(x_train) - n_validation
    data = args.dataset if args.dataset == "digits" else \
        f"{args.dataset} ({len(x)} samples, noise {args.noise:g})"
    shape = "x".join(map(str, x.shape[1:])) + " images" if args.model == "cnn" else f"{x.shape[1]} features"
    print(f"{data}: {shape}, {n_classes} classes; {n_fit} train / {n_validation} validation / "
          f"{len(x_test)} test samples")
    print(f"{_describe_model(args, x, n_classes)} ({model.count_params():,} params; {', '.join(_extras(args))}); "
          f"{args.optimizer} lr={optimizer.learning_rate:g}, {args.epochs} epochs of batch {args.batch_size}, "
          f"seed {args.seed}, {_plural(fastnn.get_num_threads(), 'thread')}", flush=True)

    start = time.perf_counter()
    try:
        history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                            validation_split=args.validation_split, verbose=args.verbose)
    except FloatingPointError as error:
        print(f"{PROG} train: error: {error}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    epochs_run = len(history.epoch)
    if args.model == "cnn" and args.batch_norm:
        # Augmented batches are blurred by resampling: re-estimate the moving statistics on the clean
        # training images (see experiments.recalibrate_batch_norm); the weights are unchanged.
        experiments.recalibrate_batch_norm(model, x_train[:n_fit])
        fits = [("train", x_train[:n_fit], y_train[:n_fit])]
        if n_validation:
            fits.append(("validation", x_train[n_fit:], y_train[n_fit:]))
        accuracies = ", ".join(f"{name} accuracy {model.evaluate(xs, ys)['accuracy']:.4f}" for name, xs, ys in fits)
        print(f"BatchNorm statistics re-estimated on the {n_fit} clean training images: {accuracies}")
    result = model.evaluate(x_test, y_test)
    correct = round(result["accuracy"] * len(x_test))
    print(f"test accuracy: {result['accuracy']:.4f} ({correct}/{len(x_test)}), test loss: {result['loss']:.4f}")
    print(f"training time: {elapsed:.2f} s for {epochs_run} epochs ({epochs_run * n_fit / elapsed:,.0f} samples/s)")
    if args.save is not None:
        try:
            model.save(args.save)
        except OSError as error:
            print(f"{PROG} train: error: cannot write {args.save!r}: {error}", file=sys.stderr)
            return 1
        print(f"saved the model to {args.save}")
    return 0


_MLP_ONLY = (("--hidden", "hidden", (128, 64)), ("--activation", "activation", "relu"), ("--l1", "l1", 0.0),
             ("--l2", "l2", 0.0))
_CNN_ONLY = (("--filters", "filters", (16, 32)), ("--no-batch-norm", "batch_norm", True),
             ("--no-augmentation", "augmentation", True))


def _check_model_options(args, subparser):
    """Options of the other model are errors, not silently ignored."""
    if args.model == "cnn":
        if args.dataset != "digits":
            subparser.error(f"argument --dataset: --model cnn trains on the digits as images; "
                            f"received {args.dataset!r}")
        for option, name, default in _MLP_ONLY:
            if getattr(args, name) != default:
                subparser.error(f"argument {option}: not used by --model cnn")
    else:
        for option, name, default in _CNN_ONLY:
            if getattr(args, name) != default:
                subparser.error(f"argument {option}: only for --model cnn")


def _describe_model(args, x, n_classes):
    if args.model == "mlp":
        layers = " -> ".join([str(x.shape[1]), *(f"{units} {args.activation}" for units in args.hidden),
                              f"{n_classes} softmax"])
        return f"MLP {layers}"
    f1, f2 = args.filters
    norm = "-bn" if args.batch_norm else ""
    augment = "augment -> " if args.augmentation else ""
    dropout = f" -> dropout {args.dropout:g}" if args.dropout else ""
    return (f"CNN {'x'.join(map(str, x.shape[1:]))} -> {augment}conv{f1}{norm}-relu -> conv{f2}{norm}-relu -> "
            f"maxpool -> residual(conv{f2}{norm}-relu, conv{f2}{norm}) -> relu -> gap{dropout} -> {n_classes} softmax")


def _extras(args):
    extras = [f"init {args.init}"]
    if args.model == "cnn":
        if args.augmentation:
            extras.append(f"augmentation: rotation ±{experiments.CNN_ROTATION:g} turn, "
                          f"zoom ±{experiments.CNN_ZOOM:g}, shift ±{experiments.CNN_TRANSLATION:g}")
        if args.batch_norm:
            extras.append(f"bn momentum {experiments.CNN_BN_MOMENTUM:g}")
        return extras
    penalties = (("l1", args.l1), ("l2", args.l2), ("dropout", args.dropout))
    return extras + [f"{name} {value:g}" for name, value in penalties if value]


def _plural(count, noun):
    return f"{count} {noun}{'' if count == 1 else 's'}"


# Options of `compare` that a mode does not use: giving one is an error, not silently ignored.
_UNUSED_BY_DEPTH = ("dataset", "samples", "noise", "hidden", "activation", "optimizer", "lr", "epochs", "batch_size",
                    "l1", "l2", "dropout", "val_size", "seeds")
_UNUSED_BY_CNN = ("samples", "noise", "hidden", "activation", "l1", "l2", "width")


def _reject_unused(args, subparser, names, mode):
    for name in names:
        if getattr(args, name) != subparser.get_default(name):
            subparser.error(f"argument --{name.replace('_', '-')}: not used by {mode}")


def _compare(args, subparser):
    if args.depth is not None and args.model == "cnn":
        subparser.error("argument --depth: the deep-network study uses Dense stacks; drop --model cnn")
    if args.model == "cnn" and args.dataset != "circles":
        subparser.error(f"argument --dataset: --model cnn compares on the digits as images; received {args.dataset!r}")
    if args.depth is not None:
        _reject_unused(args, subparser, _UNUSED_BY_DEPTH, "--depth")
    elif args.model == "cnn":
        _reject_unused(args, subparser, _UNUSED_BY_CNN, "--model cnn")
    elif args.width != subparser.get_default("width"):
        subparser.error("argument --width: only for --depth")
    if args.plot is not None:
        _check_output_path(subparser, "--plot", args.plot)
        try:
            experiments.require_matplotlib()
        except ImportError:
            subparser.error(f"argument --plot: matplotlib is not installed; {experiments.PLOT_HINT}")
    if args.threads is not None:
        fastnn.set_num_threads(args.threads)
    if args.depth is not None:
        return _compare_depth(args)
    defaults = (experiments_cnn.compare_cnn if args.model == "cnn" else
                experiments.compare_initializations_and_regularizers).__kwdefaults__
    for name in ("epochs", "optimizer", "dropout", "seeds"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])

    def progress(index, total, result, run):
        status = "diverged" if run.diverged else \
            f"val acc {run.final['val_accuracy']:.3f}, val loss {run.final['val_loss']:.3f}"
        config = result.config
        if args.model == "cnn":
            name = f"{config.group}, {config.label}"
        else:
            name = config.label if config.group == "initialization" else f"He + {config.label}"
        print(f"[{index:{len(str(total))}d}/{total}] {name}, seed {run.seed}: {status} ({run.seconds:.1f} s)",
              file=sys.stderr, flush=True)

    start = time.perf_counter()
    try:
        if args.model == "cnn":
            comparison = experiments_cnn.compare_cnn(
                val_size=args.val_size, filters=args.filters, epochs=args.epochs, batch_size=args.batch_size,
                optimizer=args.optimizer, learning_rate=args.lr if args.lr is not None else
                (defaults["learning_rate"] if args.optimizer == defaults["optimizer"] else None),
                dropout=args.dropout, seeds=args.seeds, seed=args.seed, data_seed=args.data_seed,
                progress=progress if args.verbose else None)
        else:
            comparison = experiments.compare_initializations_and_regularizers(
                args.dataset, samples=args.samples, noise=args.noise, val_size=args.val_size, hidden=args.hidden,
                activation=args.activation, epochs=args.epochs, batch_size=args.batch_size,
                optimizer=args.optimizer, learning_rate=args.lr, l1=args.l1, l2=args.l2, dropout=args.dropout,
                seeds=args.seeds, seed=args.seed, data_seed=args.data_seed,
                progress=progress if args.verbose else None)
    except ValueError as error:
        subparser.error(str(error))
    elapsed = time.perf_counter() - start
    runs = sum(len(result.runs) for result in comparison.results if result.config.same_as is None)
    table = experiments_cnn.format_cnn_table if args.model == "cnn" else experiments.format_table
    print(table(comparison))
    print(f"{runs} training runs in {elapsed:.1f} s")
    if args.plot is not None:
        plot = experiments_cnn.plot_cnn_curves if args.model == "cnn" else experiments.plot_curves
        plot(comparison, args.plot)
        print(f"wrote the loss curves to {args.plot}")
    return 0


def _compare_depth(args):
    start = time.perf_counter()
    results = experiments_depth.depth_study(args.depth, width=args.width, seed=args.seed)
    print(experiments_depth.format_depth_table(results, width=args.width))
    print(f"{len(results)} stacks measured in {time.perf_counter() - start:.1f} s")
    if args.plot is not None:
        experiments_depth.plot_depth_scales(results, args.plot)
        print(f"wrote the per-layer scales to {args.plot}")
    return 0


def _info(args, subparser):
    """What ``python -m fastnn`` printed: the machine, the kernels in use, and a self-check."""
    info = fastnn.cpu_info()
    print(f"fastnn {fastnn.__version__} on {info['cpu'] or info['vendor'] or 'unknown CPU'}")
    print(f"  kernels: {info['isa']} (best supported: {info['isa_supported']}), "
          f"threads: {info['num_threads']}, OpenMP: {info['openmp']}")
    caches = info["cache_bytes"]
    print(f"  caches: L1d {caches['l1d'] // 1024} KiB, L2 {caches['l2'] // 1024} KiB, L3 {caches['l3'] // 2**20} MiB")
    for dtype, gemm in info["gemm"].items():
        print(f"  {dtype} GEMM: {gemm['kernel']}, MC={gemm['mc']} KC={gemm['kc']} NC={gemm['nc']} NB={gemm['nb']}")

    x = fastnn.random.normal((256, 784), seed=1)
    w = fastnn.init.he_normal((784, 512), seed=2)
    b = fastnn.init.zeros(512)
    start = time.perf_counter()
    y = fastnn.ops.linear(x, w, b, activation="relu", dropout=0.5, seed=3)
    fastnn.ops.linear_backward(np.ones_like(y), x, w, y, activation="relu", dropout=0.5, seed=3)
    elapsed = time.perf_counter() - start
    keep = fastnn.ops.dropout_mask(y.shape, 0.5, seed=3)
    reference = np.maximum(x.astype(np.float64) @ w + b, 0) * keep * 2
    error = float(np.max(np.abs(y - reference)))
    ok = error < 1e-3
    print(f"  self-check: dense 256x784 -> 512 (relu, dropout 0.5) forward+backward in {elapsed * 1e3:.2f} ms, "
          f"max |error| vs NumPy {error:.2e}: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
