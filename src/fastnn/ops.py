"""Low-level kernels on NumPy arrays: matrix products, the fused dense layer, dropout, batch
normalization, pooling and spatial dropout.

All functions take float32 or float64 arrays (operands must share one dtype: see
:func:`fastnn._validation.float_arrays` for the mixed-precision rule), run multi-threaded C++
with the GIL released, and accept ``out=`` to write into a preallocated C-contiguous array.

Random draws come from the Philox4x32-10 stream described in :mod:`fastnn.random`: element
``i`` (in C order) of a call with ``(seed, offset)`` uses stream position ``offset + i``, so
results are bitwise identical for any thread count and ISA path, and a window of a longer call
equals a call with the matching offset.
"""

from __future__ import annotations

import numpy as np

from . import _core
from . import _spatial
from . import _validation as check
from ._spatial import as_5d

__all__ = ["matmul", "linear", "linear_backward", "conv", "conv_backward", "dropout", "dropout_backward", "dropout_mask",
           "batch_norm", "batch_norm_backward", "max_pool", "max_pool_backward", "average_pool", "average_pool_backward",
           "pool_output_shape", "spatial_dropout", "spatial_dropout_backward", "PADDINGS", "ACTIVATIONS"]

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh")
PADDINGS = _spatial.PADDINGS


def matmul(a, b, *, trans_a=False, trans_b=False, out=None):
    """Matrix product ``op(a) @ op(b)`` with a packed, cache-blocked GEMM.

    ``op(x)`` is ``x.T`` when the matching ``trans_*`` flag is set. Transposed and strided
    views are read in place by the packing routine, never copied first. The result is bitwise
    identical for any thread count (the reduction dimension is never split across threads). The
    order of the sums follows the shapes and whether ``op(a)``'s rows are contiguous (a narrow
    output then goes to a dot-product kernel), so two layouts of one operand may differ in the
    last bits, as in any BLAS.

    Args:
        a: (m, k) array, or (k, m) with ``trans_a=True``.
        b: (k, n) array, or (n, k) with ``trans_b=True``.
        trans_a, trans_b: use the transpose of ``a`` / ``b``.
        out: optional C-contiguous (m, n) array of the operands' dtype, not overlapping them.

    Returns:
        The (m, n) product (``out`` when given).

    Raises:
        TypeError: non-float or mixed-dtype operands.
        ValueError: operands that are not 2-D, inner dimensions that differ, a bad ``out``.

    Example:
        >>> a = np.ones((2, 3), np.float32); b = np.ones((2, 3), np.float32)
        >>> fastnn.ops.matmul(a, b, trans_b=True)
        array([[3., 3.],
               [3., 3.]], dtype=float32)
    """
    # The common call, matrices of one native float dtype (and a separate `out`), goes straight to
    # the kernel: the binding checks strides, shapes and layout before it writes anything, and
    # where it objects, the checks below run and name what is wrong. On a Zen 3, a call on 1 x 1
    # operands took 1.2 us with out= (3.0 through the checks) and 1.4 without (2.7); NumPy's
    # np.matmul 1.25 either way.
    if type(trans_a) is bool and type(trans_b) is bool:
        if out is None:
            target = _new_product(a, b, trans_a, trans_b)  # new, so it overlaps neither operand
        else:
            target = out if check.kernel_ready(out, (a, b)) else None
        if target is not None:
            try:
                _core.gemm(a, b, target, trans_a, trans_b)
                return target
            except (TypeError, ValueError):
                pass
    a, b = check.float_arrays(a=a, b=b)
    a, b = check.matrix(a, "a"), check.matrix(b, "b")
    trans_a, trans_b = check.boolean(trans_a, "trans_a"), check.boolean(trans_b, "trans_b")
    m, k = a.shape[::-1] if trans_a else a.shape
    k_b, n = b.shape[::-1] if trans_b else b.shape
    if k != k_b:
        raise ValueError(
            f"matmul: op(a) has shape {(m, k)} and op(b) has shape {(k_b, n)}; "
            f"their inner dimensions {k} and {k_b} differ (a.shape={a.shape}, b.shape={b.shape}, "
            f"trans_a={trans_a}, trans_b={trans_b})"
        )
    out = _output(out, (m, n), a.dtype, inputs=(a, b))
    _core.gemm(a, b, out, trans_a, trans_b)
    return out


def linear(x, w, b=None, *, activation="identity", alpha=0.01, dropout=0.0, seed=0, offset=0, training=True, out=None):
    """Fused dense layer ``y = dropout(act(x @ w + b))``.

    The bias, the activation and inverted dropout are applied to each tile of the GEMM's
    output right after its last reduction step, while it is still in cache: no extra passes
    over memory. Dropout keeps an element with probability ``1 - dropout`` and scales it by
    ``1 / (1 - dropout)``; element ``(i, j)`` uses stream position ``offset + i * n + j``.

    Args:
        x: (batch, in_features) inputs.
        w: (in_features, out_features) weights.
        b: optional (out_features,) bias.
        activation: "identity" (or None), "relu", "leaky_relu", "sigmoid" or "tanh".
        alpha: the slope of leaky_relu for negative inputs (>= 0).
        dropout: the probability of dropping an output, in [0, 1).
        seed, offset: the dropout stream and the position of element (0, 0).
        training: when False, dropout is skipped (the identity).
        out: optional C-contiguous (batch, out_features) array.

    Returns:
        y: (batch, out_features).

    Raises:
        TypeError, ValueError: as for :func:`matmul`, and for a bad activation, alpha, rate,
        seed or offset, or a bias of the wrong shape.
    """
    x, w, b = _dense_operands(x, w, b)
    m, n = x.shape[0], w.shape[1]
    act, alpha = _activation(activation, alpha)
    rate = check.rate(dropout, "dropout") if check.boolean(training, "training") else 0.0
    seed, offset = check.seed(seed), check.offset(offset, m * n)
    out = _output(out, (m, n), x.dtype, inputs=(x, w, b))
    _core.linear(x, w, b, out, act, alpha, rate, seed, offset)
    return out


def linear_backward(dy, x, w, y, *, activation="identity", alpha=0.01, dropout=0.0, seed=0, offset=0, input_grad=True,
                    out=None):
    """Gradients of :func:`linear` (called with ``training=True`` and the same settings).

    With ``g = dy * mask / (1 - dropout) * act'(y)`` — the mask regenerated from
    ``(seed, offset)`` rather than stored, the activation's derivative taken from the forward
    output ``y`` — returns ``dx = g @ w.T``, ``dw = x.T @ g`` and ``db = g.sum(axis=0)``.

    Args:
        dy: (batch, out_features) gradient of the loss with respect to y.
        x, w: the forward inputs.
        y: the forward output; may be None when ``activation="identity"``.
        activation, alpha, dropout, seed, offset: the forward call's settings.
        input_grad: when False, dx is not computed (returned as None): a network's first layer
            saves one of its three matrix products.
        out: optional ``(dx, dw, db)`` C-contiguous arrays to write into (dx None when
            ``input_grad`` is False), none overlapping another or an input: a training loop
            reuses them across steps.

    Returns:
        (dx, dw, db) with the shapes of x, w and (out_features,).
    """
    dy, x, w, y = check.float_arrays(dy=dy, x=x, w=w, y=y)
    x, w = check.matrix(x, "x"), check.matrix(w, "w")
    _chain(x, w)
    m, k, n = x.shape[0], x.shape[1], w.shape[1]
    dy = check.contiguous(_shaped(dy, (m, n), "dy"))
    act, alpha = _activation(activation, alpha)
    if y is None and act != "identity":
        raise ValueError(f"Argument `y` is needed for activation={act!r} (its derivative is taken from y)")
    if y is not None:
        y = check.contiguous(_shaped(y, (m, n), "y"))
    rate = check.rate(dropout, "dropout")
    seed, offset = check.seed(seed), check.offset(offset, m * n)
    input_grad = check.boolean(input_grad, "input_grad")
    if out is None:
        dx = np.empty((m, k), x.dtype) if input_grad else None
        dw, db = np.empty((k, n), x.dtype), np.empty((n,), x.dtype)
    else:
        dx, dw, db = _gradient_outputs(out, input_grad, (m, k), (k, n), (n,), x.dtype, inputs=(dy, x, w, y))
    _core.linear_backward(dy, x, w, y, dx, dw, db, act, alpha, rate, seed, offset)
    return dx, dw, db


def conv(x, w, b=None, *, strides=1, padding="valid", dilation=1, activation="identity", alpha=0.01, out=None):
    """Convolution (cross-correlation, as in Keras and PyTorch) with fused bias and activation.

    Channels last, 1 to 3 spatial dimensions: x is (batch, *spatial, in_channels) and w is
    (*kernel_size, in_channels, filters). ``y[n, o, f] = act(b[f] + Σ_{q, c} x[n, o * strides
    + q * dilation - pad, c] · w[q, c, f])``, zero outside the input. The patches (im2col) are
    multiplied by fastnn's packed GEMM, whose epilogue adds the bias and applies the activation;
    the GEMM gathers them block by block as it needs them (a few products store them a few
    samples at a time first).

    Args:
        strides, dilation: an int or one int per spatial dimension, each >= 1.
        padding: "valid" (no padding) or "same" (``out = ceil(in / strides)``; Keras's split of
            the zeros, the odd one after).
        activation, alpha: as for :func:`linear`.
        out: optional C-contiguous array of the output's shape and dtype.

    Returns:
        y: (batch, *out_spatial, filters).
    """
    x, w, b, windows, settings = _conv_operands(x, w, b, strides, padding, dilation)
    act, alpha = _activation(activation, alpha)
    shape = (x.shape[0], *windows.out, w.shape[-1])
    out = _output(out, shape, x.dtype, inputs=(x, w, b))
    _core.conv(as_5d(x), as_5d(w, kernel=True), b, as_5d(out), *settings, act, alpha)
    return out


def conv_backward(dy, x, w, y=None, *, strides=1, padding="valid", dilation=1, activation="identity", alpha=0.01,
                  input_grad=True, out=None):
    """Gradients of :func:`conv` with the same settings: ``(dx, dw, db)``.

    With ``g = dy * act'(y)`` (y, the forward output, may be None for the identity), dw and db
    are the patches' products with g and g's sums over batch and positions; dx adds each
    patch's gradient back where it was read (None when ``input_grad`` is False). ``out``: as
    :func:`linear_backward`'s, arrays ``(dx, dw, db)`` to write into.
    """
    dy, x, w, y = check.float_arrays(dy=dy, x=x, w=w, y=y)  # one dtype for all, as everywhere
    x, w, _, windows, settings = _conv_operands(x, w, None, strides, padding, dilation)
    shape = (x.shape[0], *windows.out, w.shape[-1])
    dy = check.contiguous(_shaped(dy, shape, "dy"))
    act, alpha = _activation(activation, alpha)
    if y is None and act != "identity":
        raise ValueError(f"Argument `y` is needed for activation={act!r} (its derivative is taken from y)")
    if y is not None:
        y = check.contiguous(_shaped(y, shape, "y"))
    input_grad = check.boolean(input_grad, "input_grad")
    if out is None:
        dx = np.empty(x.shape, x.dtype) if input_grad else None
        dw, db = np.empty(w.shape, x.dtype), np.empty(w.shape[-1], x.dtype)
    else:
        dx, dw, db = _gradient_outputs(out, input_grad, x.shape, w.shape, (w.shape[-1],), x.dtype, inputs=(dy, x, w, y))
    _core.conv_backward(as_5d(dy), as_5d(x), as_5d(w, kernel=True), None if y is None else as_5d(y),
                        None if dx is None else as_5d(dx), as_5d(dw, kernel=True), db, *settings, act, alpha)
    return dx, dw, db


def _conv_operands(x, w, b, strides, padding, dilation):
    x, w, b = check.float_arrays(x=x, w=w, b=b)
    if not 3 <= w.ndim <= 5:
        raise ValueError(f"Argument `w` must be (*kernel_size, in_channels, filters) with 1 to 3 spatial dimensions. "
                         f"Received shape {w.shape}")
    rank = w.ndim - 2
    if min(w.shape[:-2]) < 1:
        raise ValueError(f"Argument `w` must have kernel sizes >= 1. Received shape {w.shape}")
    if x.ndim != rank + 2:
        raise ValueError(f"Argument `x` must be (batch, *spatial, channels) with {rank} spatial dimension(s) to match "
                         f"the kernel {w.shape}. Received shape {x.shape}")
    if x.shape[-1] != w.shape[-2]:
        raise ValueError(f"Argument `x` has {x.shape[-1]} channels but the kernel {w.shape} expects {w.shape[-2]}")
    if b is not None:
        b = check.contiguous(_shaped(b, (w.shape[-1],), "b"))
    strides = _spatial.tuple_argument(strides, rank, "strides")
    dilation = _spatial.tuple_argument(dilation, rank, "dilation")
    windows = _spatial.windows(x.shape[1:-1], w.shape[:-2], strides, dilation, padding)
    return check.contiguous(x), check.contiguous(w), b, windows, _spatial.kernel_settings(windows, strides, dilation)


def dropout(x, rate, *, seed, offset=0, training=True, out=None):
    """Inverted dropout: each element is zeroed with probability ``rate``, the rest scaled by ``1 / (1 - rate)``.

    Element ``i`` of ``x`` in C order uses stream position ``offset + i``; it is dropped when its
    32-bit draw is below ``round(rate * 2**32)``. One streaming pass: no mask is stored.

    Args:
        x: float array of any shape.
        rate: probability of dropping, in [0, 1) (as in PyTorch and Keras).
        seed: the stream, an int in [0, 2**64).
        offset: stream position of element 0.
        training: when False the call is the identity.
        out: optional C-contiguous array of x's shape and dtype; may be ``x`` itself.

    Returns:
        The result; when ``rate == 0`` or ``training=False`` and no ``out`` is given, ``x``
        itself (not a copy).
    """
    (x,) = check.float_arrays(x=x)
    rate = check.rate(rate)
    seed, offset = check.seed(seed), check.offset(offset, x.size)
    if out is not None:
        out = check.output(out, x.shape, x.dtype, inputs=(x,), may_alias=(x,))
    if not check.boolean(training, "training") or rate == 0.0:
        if out is None:
            return x
        np.copyto(out, x)
        return out
    if out is None:
        out = np.empty(x.shape, x.dtype)
    _core.dropout(check.contiguous(x), out, rate, seed, offset)
    return out


def dropout_backward(dy, rate, *, seed, offset=0):
    """Gradient of :func:`dropout`: ``dx = dy * mask / (1 - rate)`` with the forward call's mask.

    Dropout is linear and diagonal, so this is the forward kernel applied to ``dy`` with the
    same ``(rate, seed, offset)``; the mask is regenerated, never stored.
    """
    return dropout(dy, rate, seed=seed, offset=offset, training=True)


def dropout_mask(shape, rate, *, seed, offset=0):
    """The keep-mask that :func:`dropout` applies for these settings: True where kept."""
    shape = check.shape(shape)
    rate = check.rate(rate)
    mask = np.empty(shape, np.bool_)
    seed, offset = check.seed(seed), check.offset(offset, mask.size)
    _core.dropout_mask(mask, rate, seed, offset)
    return mask


def _gradient_outputs(out, input_grad, dx_shape, dw_shape, db_shape, dtype, inputs, names=("dx", "dw", "db"),
                      dx_may_alias=()):
    """The caller's (dx, dw, db) arrays, checked; dx may be exactly one of `dx_may_alias`."""
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise TypeError(f"Argument `out` must be a tuple ({', '.join(names)}) or None. Received: {out!r:.80}")
    dx, dw, db = out
    if not input_grad and dx is not None:
        raise ValueError(f"Argument `out` must hold None for {names[0]} when input_grad=False")
    if input_grad:
        dx = check.output(dx, dx_shape, dtype, name=f"out[0] ({names[0]})", inputs=(*inputs, *dx_may_alias),
                          may_alias=dx_may_alias)
    dw = check.output(dw, dw_shape, dtype, name=f"out[1] ({names[1]})", inputs=(*inputs, *dx_may_alias, dx))
    db = check.output(db, db_shape, dtype, name=f"out[2] ({names[2]})", inputs=(*inputs, *dx_may_alias, dx, dw))
    return dx, dw, db


def spatial_dropout(x, rate, *, seed, offset=0, training=True):
    """Inverted dropout of whole channels: (batch, *spatial, channels) -> the same shape.

    Channel ``c`` of sample ``n`` is zeroed at every spatial position, with probability ``rate``,
    by the draw at stream position ``offset + n * channels + c`` (the rule of :func:`dropout`, so the
    mask is ``dropout_mask((batch, channels), rate, seed=seed, offset=offset)``); kept channels are
    scaled by ``1 / (1 - rate)``. No mask is stored: :func:`spatial_dropout_backward` regenerates it.

    Returns:
        The result; ``x`` itself when ``rate == 0`` or ``training=False``.
    """
    (x,) = check.float_arrays(x=x)
    if x.ndim < 3:
        raise ValueError(f"Argument `x` must be (batch, *spatial, channels). Received shape {x.shape}")
    rate = check.rate(rate)
    seed, offset = check.seed(seed), check.offset(offset, x.shape[0] * x.shape[-1])
    if not check.boolean(training, "training") or rate == 0.0:
        return x
    out = np.empty(x.shape, x.dtype)
    _core.spatial_dropout(check.contiguous(x), out, rate, seed, offset)
    return out


def spatial_dropout_backward(dy, rate, *, seed, offset=0):
    """Gradient of :func:`spatial_dropout`: the same channel mask and scale applied to ``dy``."""
    return spatial_dropout(dy, rate, seed=seed, offset=offset, training=True)


def batch_norm(x, gamma, beta, *, epsilon=1e-3, mean=None, variance=None, activation="identity", alpha=0.01,
               out=None):
    """Batch normalization over every axis but the last (the features, or a channels-last tensor's channels).

    ``y = act(gamma * (x - mean) / sqrt(variance + epsilon) + beta)``, per feature, with ``act`` a
    following activation applied in the same pass (the identity by default). Without ``mean`` and
    ``variance`` (training) they are the batch statistics, ``mean = Σ x / rows`` and the biased
    ``variance = Σ (x - mean)² / rows`` (as Keras), computed in double from a two-pass over
    cache-resident chunks merged in a fixed order: numerically stable and bitwise identical for any
    thread count. With them (inference) they are used as given.

    Args:
        x: (..., features) inputs; rows = x.size / features.
        gamma, beta: (features,) scale and offset.
        epsilon: added to the variance (> 0).
        mean, variance: (features,) statistics to use, both or neither.
        activation: "identity" (or None), "relu", "leaky_relu", "sigmoid" or "tanh".
        alpha: the slope of leaky_relu for negative inputs (>= 0).
        out: optional C-contiguous array of x's shape and dtype to write y into; x itself
            normalizes in place.

    Returns:
        (y, mean, variance): y of x's shape (``out`` when given), and the statistics used (the
        batch's when not given).

    Raises:
        ValueError: shapes that do not match, a bad epsilon, only one of mean/variance, an empty batch.
    """
    x, gamma, beta, mean, variance = check.float_arrays(x=x, gamma=gamma, beta=beta, mean=mean, variance=variance)
    epsilon = check.real(epsilon, "epsilon", minimum=0, exclusive=True)
    act, alpha = _activation(activation, alpha)
    features = _features(x)
    gamma, beta = _per_feature(gamma, "gamma", features), _per_feature(beta, "beta", features)
    x = check.contiguous(x)
    if out is None:
        y = np.empty(x.shape, x.dtype)
    else:
        y = check.output(out, x.shape, x.dtype, inputs=(x, gamma, beta, mean, variance), may_alias=(x,))
    if (mean is None) != (variance is None):
        raise ValueError("Arguments `mean` and `variance` must be given together (inference) or both be None (training)")
    if mean is None:
        if x.size == 0:
            raise ValueError(f"Argument `x` must hold at least one row to compute batch statistics. Received shape {x.shape}")
        mean, variance = np.empty(features, x.dtype), np.empty(features, x.dtype)
        _core.batch_norm_training(x, gamma, beta, epsilon, y, mean, variance, act, alpha)
    else:
        mean, variance = _per_feature(mean, "mean", features), _per_feature(variance, "variance", features)
        _core.batch_norm_inference(x, gamma, beta, mean, variance, epsilon, y, act, alpha)
    return y, mean, variance


def batch_norm_backward(dy, x, gamma, mean, variance, *, epsilon=1e-3, batch_statistics=True, input_grad=True, y=None,
                        activation="identity", alpha=0.01, out=None):
    """Gradients of :func:`batch_norm` given the statistics it used.

    With ``g = dy * act'`` (through the forward's output ``y``; ``g = dy`` for the identity),
    ``x̂ = (x - mean) / sqrt(variance + epsilon)`` and sums over the rows: ``dbeta = Σ g``,
    ``dgamma = Σ g x̂``, and ``dx = gamma / sqrt(variance + epsilon) * (g - dbeta / rows - x̂ dgamma / rows)``
    when the statistics were the batch's (``batch_statistics=True``), else
    ``dx = gamma / sqrt(variance + epsilon) * g``. One fused reduction pass and one elementwise pass.

    Args:
        y: the forward's output, needed when ``activation`` is not the identity.
        activation, alpha: as given to :func:`batch_norm`.
        out: optional arrays ``(dx, dgamma, dbeta)`` to write into (dx None when ``input_grad`` is
            False); dx may be dy itself.

    Returns:
        (dx, dgamma, dbeta); dx is None when ``input_grad`` is False.
    """
    dy, x, gamma, mean, variance, y = check.float_arrays(dy=dy, x=x, gamma=gamma, mean=mean, variance=variance, y=y)
    epsilon = check.real(epsilon, "epsilon", minimum=0, exclusive=True)
    act, alpha = _activation(activation, alpha)
    if y is None and act != "identity":
        raise ValueError(f"Argument `y` (the forward's output) is needed for activation={act!r}")
    features = _features(x)
    dy = check.contiguous(_shaped(dy, x.shape, "dy"))
    y = None if y is None else check.contiguous(_shaped(y, x.shape, "y"))
    gamma, mean, variance = (_per_feature(a, name, features) for a, name in
                             ((gamma, "gamma"), (mean, "mean"), (variance, "variance")))
    x, input_grad = check.contiguous(x), check.boolean(input_grad, "input_grad")
    if out is None:
        dx = np.empty(x.shape, x.dtype) if input_grad else None
        dgamma, dbeta = np.empty(features, x.dtype), np.empty(features, x.dtype)
    else:
        dx, dgamma, dbeta = _gradient_outputs(out, input_grad, x.shape, (features,), (features,), x.dtype,
                                              inputs=(x, gamma, mean, variance, y), names=("dx", "dgamma", "dbeta"),
                                              dx_may_alias=(dy,))
    _core.batch_norm_backward(dy, x, y, gamma, mean, variance, epsilon,
                              check.boolean(batch_statistics, "batch_statistics"), act, alpha, dx, dgamma, dbeta)
    return dx, dgamma, dbeta


def pool_output_shape(spatial, pool_size, strides=None, padding="valid"):
    """Spatial output sizes of a pooling (Keras/TensorFlow rules).

    ``"valid"``: ``(in - pool) // stride + 1`` (needs ``in >= pool``); ``"same"``: ``ceil(in / stride)``,
    the input padded by ``max((out - 1) * stride + pool - in, 0)``, half of it (rounded down) before.

    Args:
        spatial: the input's spatial sizes (1 to 3 of them).
        pool_size, strides: an int or one per spatial axis, each >= 1; strides None means pool_size.
        padding: "valid" or "same" (any case).

    Returns:
        The output's spatial sizes, a tuple.
    """
    spatial = check.shape(spatial, "spatial")
    pool_size, strides, padding = _pool_arguments(len(spatial), pool_size, strides, padding)
    return _spatial.windows(spatial, pool_size, strides, (1,) * len(spatial), padding, what="pool_size").out


def max_pool(x, pool_size, *, strides=None, padding="valid", return_argmax=True, out=None):
    """Max pooling of a channels-last (batch, *spatial, channels) array, 1 to 3 spatial axes.

    Padded positions ("same") never win. Also returns, per output element, the arg-max as its
    position inside the window (``(kd * pool_h + kh) * pool_w + kw``; ties go to the first in that
    order; a NaN wins): :func:`max_pool_backward` routes the gradient there.

    Args:
        x: (batch, *spatial, channels).
        pool_size, strides, padding: as :func:`pool_output_shape`.
        return_argmax: compute and return the arg-max too (what the backward needs). False for
            inference: only y is written, which saves the arg-max's traffic.
        out: optional ``(y, argmax)`` to write into (just ``y`` when ``return_argmax`` is
            False): C-contiguous arrays of the output shape, of x's dtype and int32.

    Returns:
        (y, argmax): y of shape (batch, *out_spatial, channels) and an int32 argmax of the same
        shape; y alone when ``return_argmax`` is False.

    Raises:
        ValueError: a bad rank, pool size, stride or padding name.
    """
    x, pool_size, strides, padding, out_shape = _pool_operands(x, pool_size, strides, padding)
    if not check.boolean(return_argmax, "return_argmax"):
        y = _output(out, out_shape, x.dtype, inputs=(x,))
        _core.max_pool(x, y, None, list(pool_size), list(strides), padding == "same")
        return y
    y, argmax = _pair_output(out, "max_pool")
    y = _output(y, out_shape, x.dtype, inputs=(x,))
    argmax = _output(argmax, out_shape, np.int32, inputs=(x, y))
    _core.max_pool(x, y, argmax, list(pool_size), list(strides), padding == "same")
    return y, argmax


def max_pool_backward(dy, argmax, input_shape, pool_size, *, strides=None, padding="valid", out=None):
    """Gradient of :func:`max_pool`: each output's gradient goes to its window's arg-max (summed
    where windows overlap). ``input_shape`` is the forward input's full shape; ``out`` an
    optional array of that shape to write into."""
    (dy,) = check.float_arrays(dy=dy)
    input_shape = check.shape(input_shape, "input_shape")
    pool_size, strides, padding, out_shape = _pool_geometry(input_shape, pool_size, strides, padding, "input_shape")
    dy = check.contiguous(_shaped(dy, out_shape, "dy"))
    argmax = np.asarray(argmax)
    if argmax.dtype != np.int32:
        raise TypeError(f"Argument `argmax` must be the int32 array max_pool returned. Received dtype {argmax.dtype}")
    argmax = check.contiguous(_shaped(argmax, out_shape, "argmax"))
    dx = _output(out, input_shape, dy.dtype, inputs=(dy, argmax))
    _core.max_pool_backward(dy, argmax, dx, list(pool_size), list(strides), padding == "same")
    return dx


def average_pool(x, pool_size, *, strides=None, padding="valid", out=None):
    """Average pooling of a channels-last (batch, *spatial, channels) array, 1 to 3 spatial axes.

    With "same" padding each window is averaged over its valid (non-padded) elements only, as
    TensorFlow/Keras do (PyTorch's ``count_include_pad=False``). Arguments as :func:`max_pool`,
    except that ``out`` is a single array.

    Returns:
        y: (batch, *out_spatial, channels).
    """
    x, pool_size, strides, padding, out_shape = _pool_operands(x, pool_size, strides, padding)
    y = _output(out, out_shape, x.dtype, inputs=(x,))
    _core.average_pool(x, y, list(pool_size), list(strides), padding == "same")
    return y


def average_pool_backward(dy, input_shape, pool_size, *, strides=None, padding="valid", out=None):
    """Gradient of :func:`average_pool`: each output's gradient, divided by its window's count of
    valid elements, goes to every element of the window. ``out``: as :func:`max_pool_backward`."""
    (dy,) = check.float_arrays(dy=dy)
    input_shape = check.shape(input_shape, "input_shape")
    pool_size, strides, padding, out_shape = _pool_geometry(input_shape, pool_size, strides, padding, "input_shape")
    dy = check.contiguous(_shaped(dy, out_shape, "dy"))
    dx = _output(out, input_shape, dy.dtype, inputs=(dy,))
    _core.average_pool_backward(dy, dx, list(pool_size), list(strides), padding == "same")
    return dx


def _pool_arguments(rank, pool_size, strides, padding):
    """(pool_size, strides, padding) as two tuples of `rank` positive ints and a lowercase name."""
    pool_size = _spatial.tuple_argument(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else _spatial.tuple_argument(strides, rank, "strides")
    return pool_size, strides, _spatial.padding_name(padding)


def _pool_operands(x, pool_size, strides, padding):
    (x,) = check.float_arrays(x=x)
    return (check.contiguous(x), *_pool_geometry(x.shape, pool_size, strides, padding, "x"))


def _pool_geometry(shape, pool_size, strides, padding, name):
    """(pool_size, strides, padding, output shape) for an input of ``shape``."""
    if not 3 <= len(shape) <= 5:
        raise ValueError(f"Argument `{name}` must be (batch, *spatial, channels) with 1 to 3 spatial axes. "
                         f"Received shape {tuple(shape)}")
    pool_size, strides, padding = _pool_arguments(len(shape) - 2, pool_size, strides, padding)
    out_shape = (shape[0], *pool_output_shape(shape[1:-1], pool_size, strides, padding), shape[-1])
    return pool_size, strides, padding, out_shape


def _features(x):
    if x.ndim < 1:
        raise ValueError(f"Argument `x` must have a feature axis. Received shape {x.shape}")
    return x.shape[-1]


def _per_feature(a, name, features):
    if a is None:
        raise TypeError(f"Argument `{name}` is required. Received: {name}=None")
    return check.contiguous(_shaped(a, (features,), name))


def _new_product(a, b, trans_a, trans_b):
    """An empty array for op(a) @ op(b) when a and b are matrices of one native float dtype, else
    None: then nothing but the kernel's own checks stands between them and the product."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim != 2 or b.ndim != 2:
        return None
    if a.dtype is not b.dtype or not (a.dtype is check.FLOAT_DTYPES[0] or a.dtype is check.FLOAT_DTYPES[1]):
        return None
    return np.empty((a.shape[1] if trans_a else a.shape[0], b.shape[0] if trans_b else b.shape[1]), a.dtype)


def _output(out, shape, dtype, inputs):
    if out is None:
        return np.empty(shape, dtype)
    return check.output(out, shape, dtype, inputs=inputs)


def _pair_output(out, function):
    """(first, second) of an ``out`` that must be None or a pair of arrays."""
    if out is None:
        return None, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{function}: argument `out` must be None or a pair of arrays. Received: {type(out).__name__}")
    return out


def _dense_operands(x, w, b):
    x, w, b = check.float_arrays(x=x, w=w, b=b)
    x, w = check.matrix(x, "x"), check.matrix(w, "w")
    _chain(x, w)
    if b is not None:
        b = check.contiguous(_shaped(b, (w.shape[1],), "b"))
    return x, w, b


def _chain(x, w):
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"Arguments `x` and `w` do not chain: x has shape {x.shape} and w has shape {w.shape}; "
            f"w must be (in_features, out_features) = ({x.shape[1]}, ...)"
        )


def _shaped(a, shape, name):
    if a.shape != shape:
        raise ValueError(f"Argument `{name}` must have shape {shape}. Received shape {a.shape}")
    return a


def _activation(activation, alpha):
    """(name, alpha) of an op's fused activation; None means the identity, as for the layers."""
    activation = "identity" if activation is None else check.choice(activation, "activation", ACTIVATIONS)
    return activation, check.real(alpha, "alpha", minimum=0)
