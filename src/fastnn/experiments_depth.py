"""The deep-network study (``fastnn compare --depth 20,50``): how the scale of activations and
gradients changes from layer to layer in deep ReLU stacks, plain or residual, from Xavier or He
initialization (vanishing and exploding gradients).

:func:`depth_study` measures it with one forward and backward pass per stack;
:func:`format_depth_table` prints it, :func:`plot_depth_scales` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import datasets as _datasets
from . import losses as _losses
from .layers import Dense, Residual
from .model import Sequential

__all__ = ["ARCHITECTURES", "INITIALIZATIONS", "Scales", "depth_study", "build_stack", "format_depth_table",
           "plot_depth_scales"]

ARCHITECTURES = ("plain", "residual")
INITIALIZATIONS = {"xavier": "xavier_normal", "he": "he_normal"}
_LABELS = {"xavier": "Xavier", "he": "He"}


@dataclass
class Scales:
    """One stack's measurement: per hidden Dense layer (first to last), the root mean square of
    its output h_l (``activations``) and of the loss gradient dL/dh_l (``gradients``)."""

    depth: int
    architecture: str
    initialization: str
    activations: np.ndarray
    gradients: np.ndarray

    @property
    def label(self):
        return f"{self.architecture}, {_LABELS[self.initialization]}"


def build_stack(depth, architecture, initialization, *, width=64, input_dim=64, n_classes=10, seed=0):
    """A Sequential of ``depth`` hidden Dense layers of ``width`` ReLU units (then a linear
    ``n_classes`` output), built, not compiled.

    - "plain": ``depth`` x Dense(width, relu).
    - "residual": ``depth / 2`` blocks ``x + W2 relu(W1 x)``: a shortcut every two layers, the
      identity path left free of activations (He et al., "Identity Mappings in Deep Residual
      Networks", 2016); the first block projects when ``input_dim != width``.

    ``initialization`` ("xavier" or "he") sets every hidden kernel; the output layer is Xavier.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"Argument `architecture` must be one of {ARCHITECTURES}. Received: {architecture!r}")
    if initialization not in INITIALIZATIONS:
        raise ValueError(f"Argument `initialization` must be one of {tuple(INITIALIZATIONS)}. "
                         f"Received: {initialization!r}")
    depth = int(depth)
    if depth < 2 or (architecture == "residual" and depth % 2):
        raise ValueError(f"Argument `depth` must be an even number >= 2 (a residual block holds two layers). "
                         f"Received: depth={depth}")
    init = INITIALIZATIONS[initialization]
    if architecture == "plain":
        layers = [Dense(width, activation="relu", kernel_init=init) for _ in range(depth)]
    else:
        layers = [Residual(Dense(width, activation="relu", kernel_init=init), Dense(width, kernel_init=init),
                           shortcut="projection" if index == 0 and input_dim != width else None)
                  for index in range(depth // 2)]
    model = Sequential([*layers, Dense(n_classes, kernel_init="xavier_normal")], seed=seed)
    model.build((int(input_dim),))
    return model


def measure_scales(model, x, y):
    """One training-mode forward and backward pass of ``model`` (built by :func:`build_stack`) on
    ``(x, y)`` under softmax cross-entropy; returns ``(activations, gradients)``: per hidden Dense
    layer, the RMS of its output h_l and of the loss gradient with respect to that output, dL/dh_l.

    For a residual block the first layer's output is the branch's ReLU output, the second's the
    block's output ``x + F(x)``. The gradient reported is the one backpropagated to each layer,
    the quantity that vanishes or explodes; a kernel's own gradient is h_(l-1)ᵀ dL/d(pre-activation):
    in a plain Xavier stack its shrinking input and its shrinking backpropagated factor offset each
    other, leaving every layer's kernel gradient equally tiny (about 2^(-L/2)) rather than graded.
    """
    outputs, output_grads = [], []
    h = np.ascontiguousarray(x, dtype=model.dtype)
    for layer in model.layers[:-1]:
        if isinstance(layer, Residual):
            branch = h
            for inner in layer.layers:
                branch = inner.forward(branch, training=True)
                outputs.append(branch)
            short = h if layer.shortcut_layer is None else layer.shortcut_layer.forward(h, training=True)
            h = branch + short
            outputs[-1] = h
        else:
            h = layer.forward(h, training=True)
            outputs.append(h)
    logits = model.layers[-1].forward(h, training=True)
    _, grad = _losses.get("sparse_categorical_crossentropy").from_logits(y, logits)
    grad = model.layers[-1].backward(grad)
    for layer in reversed(model.layers[:-1]):
        if isinstance(layer, Residual):
            output_grads.append(grad)  # the block's output: its second layer's
            branch = layer.layers[-1].backward(grad)
            for inner in reversed(layer.layers[:-1]):
                output_grads.append(branch)
                branch = inner.backward(branch)
            short = grad if layer.shortcut_layer is None else layer.shortcut_layer.backward(grad)
            grad = branch + short
        else:
            output_grads.append(grad)
            grad = layer.backward(grad)
    return np.array([_rms(a) for a in outputs]), np.array([_rms(g) for g in reversed(output_grads)])


def _rms(a):
    return float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))


def depth_study(depths=(20, 50), *, width=64, batch=256, seed=0, architectures=ARCHITECTURES,
                initializations=tuple(INITIALIZATIONS)):
    """Measures activation and gradient scales of every (depth, architecture, initialization)
    stack on one batch of ``batch`` digits (64 pixels in [0, 1], their labels); returns a list of
    :class:`Scales`.

    What it shows (ReLU units, width 64): a **plain** stack from **He** init, σ² = 2 / fan_in,
    keeps its activation and gradient scales through every layer; from **Xavier**, σ² =
    2 / (fan_in + fan_out) = 1 / fan_in here, the mean square halves at each layer (ReLU zeroes
    half of it), so the scales of the deep end and the gradients of the early layers vanish as
    2^(-L/2) toward the input. A **residual** stack's identity path carries the gradient to every
    layer unshrunk: early layers get gradients at least as large as late ones, from either init. Without
    normalization the sum x + F(x) grows at every block (its mean square by about 1.5x from
    Xavier, 3x from He), which is why ResNets put batch normalization in the branch or scale the
    branch's last layer down (Fixup).

    The same ``seed`` gives every stack the same batch; each stack's weights come from
    ``seed`` too (Sequential's derived streams).
    """
    x, y = _datasets.load_digits()
    x, y = x[:batch], y[:batch]
    results = []
    for depth in depths:
        for architecture in architectures:
            for initialization in initializations:
                model = build_stack(depth, architecture, initialization, width=width, input_dim=x.shape[1],
                                    n_classes=int(y.max()) + 1, seed=seed)
                activations, gradients = measure_scales(model, x, y)
                results.append(Scales(int(depth), architecture, initialization, activations, gradients))
    return results


def format_depth_table(results, *, width=64, batch=256):
    """One row per stack: activation RMS at the first, middle and last hidden layer, gradient RMS
    (dL/dh) at the same layers, and the gradient ratio first / last layer (< 1: vanishing toward
    the input; > 1: growing)."""
    headers = ("depth", "stack", "act 1", "act L/2", "act L", "grad 1", "grad L/2", "grad L", "grad 1/L")
    rows = []
    for scales in results:
        middle = len(scales.activations) // 2 - 1
        a, g = scales.activations, scales.gradients
        rows.append((str(scales.depth), scales.label, *(f"{v:.2e}" for v in (a[0], a[middle], a[-1])),
                     *(f"{v:.2e}" for v in (g[0], g[middle], g[-1])), f"{g[0] / g[-1]:.2e}"))
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    line = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    rule = "-" * len(line(headers))
    return "\n".join([
        f"ReLU stacks of width {width} (plain: Dense-ReLU x L; residual: x + W2 relu(W1 x) every two layers), "
        f"one forward/backward pass on {batch} digits",
        "root mean square of hidden layer l's output h (act) and of the gradient dL/dh (grad), at l = 1, L/2, L",
        rule, line(headers), rule, *(line(row) for row in rows), rule])


def plot_depth_scales(results, path):
    """Two panels, activation RMS and gradient RMS against the layer, log scale, a line per
    stack (colour: architecture and init; solid: the first depth, dashed: the next ...); writes a PNG."""
    from .experiments import require_matplotlib

    require_matplotlib()
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 4.8), layout="constrained")
    axes = figure.subplots(1, 2)
    kinds = list(dict.fromkeys(scales.label for scales in results))
    depths = list(dict.fromkeys(scales.depth for scales in results))
    styles = ("-", "--", ":", "-.")
    for ax, field, title in ((axes[0], "activations", "activation scale (RMS of each layer's output)"),
                             (axes[1], "gradients", "gradient scale (RMS of dL/d(layer output))")):
        for scales in results:
            values = getattr(scales, field)
            ax.plot(np.arange(1, len(values) + 1), values, color=f"C{kinds.index(scales.label)}",
                    linestyle=styles[depths.index(scales.depth) % len(styles)],
                    label=f"{scales.label}, {scales.depth} layers")
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.set_title(title, fontsize="medium")
        ax.grid(True, which="major", alpha=0.3)
    axes[1].legend(fontsize="small")
    figure.savefig(path, dpi=110)
    return path
