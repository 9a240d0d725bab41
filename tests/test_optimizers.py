"""Tests of fastnn.optimizers: a few steps against updates written out here in float64 (Keras's
SGD / RMSprop formulas, Kingma & Ba's Algorithm 1, decoupled weight decay), in-place updates with
no allocation per step, state save / restore, get() defaults and argument checks."""

import math
import tracemalloc

import numpy as np
import pytest

from fastnn import _core, optimizers, regularizers
from fastnn.optimizers import SGD, Adam, AdamW, RMSprop

RTOL = 1e-12

W0 = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -0.75]])
# Gradients of mixed magnitudes (a zero, small ones where epsilon matters, a sign change per step).
GRADIENTS = [
    np.array([[0.5, -1.0, 0.0], [1e-4, 2.0, -3e-3]]),
    np.array([[-0.25, -1.5, 0.0], [2e-4, -1.0, 4e-3]]),
    np.array([[1.0, 0.5, 0.0], [-1e-4, 0.75, -2e-3]]),
]


def run(optimizer, w0=W0, gradients=GRADIENTS, key="w"):
    """The parameter after each step, updating one array in place."""
    w = w0.copy()
    history = []
    for g in gradients:
        optimizer.apply([(key, w, g)])
        history.append(w.copy())
    return history


def assert_steps(actual, expected, rtol=RTOL):
    assert len(actual) == len(expected)
    for step, (a, e) in enumerate(zip(actual, expected)):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=0, err_msg=f"step {step + 1}")


# -- reference algorithms, float64 ----------------------------------------------------------------


def ref_sgd(lr, momentum=0.0, nesterov=False):
    w, v, out = W0.copy(), np.zeros_like(W0), []
    for g in GRADIENTS:
        if momentum == 0.0:
            w = w - lr * g
        else:
            v = momentum * v - lr * g
            w = w + momentum * v - lr * g if nesterov else w + v
        out.append(w)
    return out


def ref_adam(lr, beta_1, beta_2, epsilon, weight_decay=0.0):
    """Algorithm 1 of Kingma & Ba (2015); with weight_decay, AdamW's decoupled decay first."""
    w, m, v, out = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), []
    for t, g in enumerate(GRADIENTS, start=1):
        w = w - lr * weight_decay * w
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        m_hat = m / (1 - beta_1**t)
        v_hat = v / (1 - beta_2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + epsilon)
        out.append(w)
    return out


def ref_rmsprop(lr, rho, epsilon):
    w, v, out = W0.copy(), np.zeros_like(W0), []
    for g in GRADIENTS:
        v = rho * v + (1 - rho) * g * g
        w = w - lr * g / np.sqrt(v + epsilon)
        out.append(w)
    return out


# -- updates -------------------------------------------------------------------------------------


def test_sgd_by_hand():
    """w0 = 1, g = 1 at every step, lr = 0.1, written out digit by digit."""
    one = [np.array([1.0])] * 3
    assert_steps(run(SGD(0.1), np.array([1.0]), one), [[0.9], [0.8], [0.7]])
    # momentum 0.9: v = -0.1, -0.19, -0.271; w = w + v
    assert_steps(run(SGD(0.1, momentum=0.9), np.array([1.0]), one), [[0.9], [0.71], [0.439]])
    # Nesterov: w = w + 0.9 v - 0.1
    assert_steps(run(SGD(0.1, momentum=0.9, nesterov=True), np.array([1.0]), one), [[0.81], [0.539], [0.1951]])


@pytest.mark.parametrize("lr, momentum, nesterov", [
    (0.01, 0.0, False), (0.3, 0.0, False), (0.1, 0.9, False), (0.05, 0.5, False), (0.1, 0.9, True),
    (0.05, 0.5, True), (0.1, 0.0, True),
])
def test_sgd_matches_the_keras_formulas(lr, momentum, nesterov):
    assert_steps(run(SGD(lr, momentum=momentum, nesterov=nesterov)), ref_sgd(lr, momentum, nesterov))


@pytest.mark.parametrize("lr, beta_1, beta_2, epsilon", [
    (0.001, 0.9, 0.999, 1e-7), (0.1, 0.9, 0.999, 1e-3), (0.05, 0.5, 0.9, 1e-2), (0.01, 0.0, 0.0, 1e-8),
])
def test_adam_is_algorithm_1_with_bias_correction(lr, beta_1, beta_2, epsilon):
    assert_steps(run(Adam(lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)), ref_adam(lr, beta_1, beta_2, epsilon))


def test_adam_first_step_moves_each_weight_by_about_lr():
    """At t = 1 the bias-corrected step is lr * g / (|g| + eps): about lr in the direction of -g."""
    w = run(Adam(0.01, epsilon=1e-12), gradients=GRADIENTS[:1])[0]
    g = GRADIENTS[0]
    np.testing.assert_allclose(w, W0 - 0.01 * np.sign(g), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("lr, weight_decay, epsilon", [(0.001, 0.004, 1e-7), (0.1, 0.5, 1e-3), (0.05, 0.0, 1e-7)])
def test_adamw_decays_then_takes_the_adam_step(lr, weight_decay, epsilon):
    optimizer = AdamW(lr, weight_decay=weight_decay, beta_1=0.8, beta_2=0.95, epsilon=epsilon)
    assert_steps(run(optimizer), ref_adam(lr, 0.8, 0.95, epsilon, weight_decay))


def test_adamw_decay_is_not_rescaled_by_the_adaptive_denominator():
    """With zero gradients Adam does nothing and AdamW shrinks by exactly (1 - lr * wd) per step."""
    zeros = [np.zeros_like(W0)] * 3
    assert_steps(run(Adam(0.1), gradients=zeros), [W0] * 3, rtol=0)
    expected = [W0 * (1 - 0.1 * 0.5) ** t for t in (1, 2, 3)]
    assert_steps(run(AdamW(0.1, weight_decay=0.5), gradients=zeros), expected, rtol=1e-15)


@pytest.mark.parametrize("lr, rho, epsilon", [(0.001, 0.9, 1e-7), (0.01, 0.5, 1e-4), (0.1, 0.0, 1e-6)])
def test_rmsprop_matches_the_documented_formula(lr, rho, epsilon):
    assert_steps(run(RMSprop(lr, rho=rho, epsilon=epsilon)), ref_rmsprop(lr, rho, epsilon))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_steps_are_the_documented_operations_bit_for_bit(rng, dtype):
    """Steps on a long array (the kernels' vectorized loops and their tails) against the documented
    formulas evaluated in NumPy one operation at a time, in the parameter's dtype: no fused
    multiply-add, no reordering, no approximate square root."""
    f = np.dtype(dtype).type
    w0, gradients = rng.standard_normal(1027).astype(dtype), rng.standard_normal((3, 1027)).astype(dtype)
    lr, beta_1, beta_2, rho, mu, eps, decay = 0.01, 0.9, 0.999, 0.9, 0.9, 1e-7, 0.1

    def steps(make, update, state_count):
        w, state = w0.copy(), [np.zeros_like(w0) for _ in range(state_count)]
        for t, g in enumerate(gradients, start=1):
            w = update(w, g, t, state)
        assert np.array_equal(run(make(), w0=w0, gradients=gradients)[-1], w)

    def adam(keep):
        def update(w, g, t, state):
            c1, c2 = f(lr / (1 - beta_1**t)), f(1 / math.sqrt(1 - beta_2**t))
            state[0] = state[0] * f(beta_1) + g * f(1 - beta_1)
            state[1] = state[1] * f(beta_2) + (g * g) * f(1 - beta_2)
            return w * f(keep) - (state[0] / (np.sqrt(state[1]) * c2 + f(eps))) * c1
        return update

    def rmsprop(w, g, t, state):
        state[0] = state[0] * f(rho) + (g * g) * f(1 - rho)
        return w - (g / np.sqrt(state[0] + f(eps))) * f(lr)

    def nesterov(w, g, t, state):
        step = g * f(lr)
        state[0] = state[0] * f(mu) - step
        return (w - step) + state[0] * f(mu)

    steps(lambda: Adam(lr, beta_1=beta_1, beta_2=beta_2, epsilon=eps), adam(1), 2)
    steps(lambda: AdamW(lr, weight_decay=decay, beta_1=beta_1, beta_2=beta_2, epsilon=eps), adam(1 - lr * decay), 2)
    steps(lambda: RMSprop(lr, rho=rho, epsilon=eps), rmsprop, 1)
    steps(lambda: SGD(lr, momentum=mu, nesterov=True), nesterov, 1)
    steps(lambda: SGD(lr), lambda w, g, t, state: w - g * f(lr), 0)
    # Plain momentum, with an L1 + L2 penalty folded into the pass: g + l1 sign(w) + 2 l2 w.
    l1, l2 = 1e-3, 1e-2
    w, velocity = w0.copy(), np.zeros_like(w0)
    optimizer, fused = SGD(lr, momentum=mu), w0.copy()
    for g in gradients:
        penalized = g + ((f(0) + f(l1) * np.sign(w)) + f(2 * l2) * w)
        velocity = velocity * f(mu) - penalized * f(lr)
        w = w + velocity
        optimizer.apply([("w", fused, g.copy(), regularizers.L1L2(l1=l1, l2=l2))])
    assert np.array_equal(fused, w)


@pytest.mark.parametrize("make, reference", [
    (lambda: SGD(0.1, momentum=0.9, nesterov=True), lambda: ref_sgd(0.1, 0.9, True)),
    (lambda: Adam(0.01), lambda: ref_adam(0.01, 0.9, 0.999, 1e-7)),
    (lambda: AdamW(0.01, weight_decay=0.1), lambda: ref_adam(0.01, 0.9, 0.999, 1e-7, 0.1)),
    (lambda: RMSprop(0.01), lambda: ref_rmsprop(0.01, 0.9, 1e-7)),
], ids=["sgd", "adam", "adamw", "rmsprop"])
def test_float32_parameters_stay_float32_and_close(make, reference):
    w = W0.astype(np.float32)
    optimizer = make()
    for g in GRADIENTS:
        optimizer.apply([("w", w, g.astype(np.float32))])
    assert w.dtype == np.float32
    np.testing.assert_allclose(w, reference()[-1], rtol=2e-5, atol=1e-6)


def test_parameters_are_tracked_separately_by_key():
    """Two parameters in one apply: each has its own state; the step count is shared."""
    optimizer = Adam(0.05)
    a, b = W0.copy(), -W0.copy()
    for g in GRADIENTS:
        optimizer.apply([("a", a, g), ("b", b, -g)])
    assert optimizer.iterations == 3
    expected = ref_adam(0.05, 0.9, 0.999, 1e-7)[-1]
    np.testing.assert_allclose(a, expected, rtol=RTOL)
    np.testing.assert_allclose(b, -expected, rtol=RTOL)


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: SGD(0.1, momentum=0.9), lambda: Adam(), lambda: RMSprop()],
                         ids=["sgd", "momentum", "adam", "rmsprop"])
def test_a_gradient_that_overlaps_its_parameter_is_refused(make):
    """The update kernels read and write the parameter, the gradient and the state as separate arrays."""
    w = W0.copy()
    first_row, shifted = w[:1], w.reshape(-1)[1:4].reshape(1, 3)  # elements 0-2 and 1-3
    for param, grad in ((w, w), (first_row, shifted)):
        with pytest.raises(ValueError, match="`w` and `g` overlap"):
            make().apply([("w", param, grad)])
    assert np.array_equal(w, W0)  # untouched


def test_the_kernels_refuse_overlapping_state_arrays():
    w, g, m = np.zeros(8), np.zeros(8), np.zeros(8)
    with pytest.raises(ValueError, match="`m` and `v` overlap"):
        _core.adam_update(w, g, m, m, 0.9, 0.999, 1e-7, 1e-3, 1.0, 0.0)
    with pytest.raises(ValueError, match="`w` and `velocity` overlap"):
        _core.sgd_update(w, g, w, 0.1, 0.9, False)
    with pytest.raises(ValueError, match="`g` and `v` overlap"):
        _core.rmsprop_update(w, g, g, 0.1, 0.9, 1e-7)


def test_a_key_whose_parameter_changes_shape_or_dtype_starts_a_fresh_state():
    optimizer = Adam(0.05)
    w = W0.copy()
    optimizer.apply([("w", w, GRADIENTS[0])])
    for changed in (W0[:1].copy(), W0.astype(np.float32)):
        optimizer.apply([("w", changed, GRADIENTS[1][:len(changed)].astype(changed.dtype))])
        state = optimizer._state["w"]
        assert all(value.shape == changed.shape and value.dtype == changed.dtype for value in state.values())
        assert np.array_equal(state["m"], (1 - 0.9) * GRADIENTS[1][:len(changed)].astype(changed.dtype))


# -- in place, no allocation ------------------------------------------------------------------------

ALL = [
    lambda: SGD(0.1), lambda: SGD(0.1, momentum=0.9), lambda: SGD(0.1, momentum=0.9, nesterov=True),
    lambda: Adam(), lambda: AdamW(), lambda: RMSprop(),
]
ALL_IDS = ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"]


@pytest.mark.parametrize("make", ALL, ids=ALL_IDS)
def test_updates_in_place_and_reuses_its_state(make):
    optimizer = make()
    w = W0.copy()
    grads = [g.copy() for g in GRADIENTS]
    optimizer.apply([("w", w, grads[0])])
    state_ids = {name: id(array) for name, array in optimizer._state["w"].items()}
    for g in grads[1:]:
        optimizer.apply([("w", w, g)])
        assert {name: id(array) for name, array in optimizer._state["w"].items()} == state_ids
    assert not np.array_equal(w, W0)
    for g, original in zip(grads, GRADIENTS):
        np.testing.assert_array_equal(g, original)  # the gradients are not modified


@pytest.mark.parametrize("make", ALL, ids=ALL_IDS)
def test_a_step_allocates_no_arrays(make):
    n = 1_000_000  # 8 MB per float64 array: any temporary would show in the peak
    optimizer = make()
    w, g = np.ones(n), np.full(n, 0.5)
    optimizer.apply([("w", w, g)])  # the first step creates the state
    param_before = w
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        optimizer.apply([("w", w, g)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"{peak} bytes allocated during a step"
    assert w is param_before


# -- state ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ALL, ids=ALL_IDS)
def test_get_state_set_state_reproduces_the_next_step_exactly(make):
    original = make()
    w = W0.copy()
    for g in GRADIENTS[:2]:
        original.apply([("w", w, g)])
    iterations, arrays = original.get_state()
    assert iterations == 2
    assert all(key.startswith("w/") for key in arrays) and "w/scratch" not in arrays
    restored = make()
    w_restored = w.copy()
    restored.set_state(iterations, arrays, {"w": w_restored})
    assert restored.iterations == 2
    original.apply([("w", w, GRADIENTS[2])])
    restored.apply([("w", w_restored, GRADIENTS[2])])
    np.testing.assert_array_equal(w_restored, w)


def test_state_names_per_optimizer():
    for optimizer, slots in [(SGD(momentum=0.9), {"velocity"}), (Adam(), {"m", "v"}), (AdamW(), {"m", "v"}),
                             (RMSprop(), {"v"})]:
        optimizer.apply([("layer/W", W0.copy(), GRADIENTS[0])])
        _, arrays = optimizer.get_state()
        assert set(arrays) == {f"layer/W/{slot}" for slot in slots}


def test_adam_state_holds_the_moments():
    optimizer = Adam(beta_1=0.5, beta_2=0.75)
    optimizer.apply([("w", W0.copy(), GRADIENTS[0])])
    _, arrays = optimizer.get_state()
    np.testing.assert_allclose(arrays["w/m"], 0.5 * GRADIENTS[0], rtol=1e-15)
    np.testing.assert_allclose(arrays["w/v"], 0.25 * GRADIENTS[0] ** 2, rtol=1e-15)


def test_set_state_rejects_a_shape_mismatch():
    optimizer = Adam()
    optimizer.apply([("w", W0.copy(), GRADIENTS[0])])
    iterations, arrays = optimizer.get_state()
    with pytest.raises(ValueError, match="shape"):
        Adam().set_state(iterations, arrays, {"w": np.zeros((3, 2))})


# -- construction -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, cls, config", [
    ("sgd", SGD, {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}),
    ("adam", Adam, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    ("adamw", AdamW, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": 0.004}),
    ("rmsprop", RMSprop, {"learning_rate": 0.001, "rho": 0.9, "epsilon": 1e-7}),
])
def test_get_by_name_has_keras_defaults(name, cls, config):
    optimizer = optimizers.get(name)
    assert type(optimizer) is cls
    assert optimizer.get_config() == config
    assert optimizer.iterations == 0
    assert optimizers.get(optimizer) is optimizer
    again = optimizers.get(optimizers.serialize(optimizer))
    assert type(again) is cls and again.get_config() == config


@pytest.mark.parametrize("bad", ["adagrad", "SGD", "", None, 1])
def test_get_unknown_names_the_argument(bad):
    # An unknown name is a ValueError; a non-string a TypeError (the package's rule).
    with pytest.raises(ValueError if isinstance(bad, str) else TypeError, match="`optimizer`"):
        optimizers.get(bad)


def test_get_unknown_saved_class():
    with pytest.raises(ValueError, match="Adagrad"):
        optimizers.get({"class_name": "Adagrad", "config": {}})


@pytest.mark.parametrize("make, argument", [
    (lambda: SGD(learning_rate=0), "learning_rate"),
    (lambda: SGD(learning_rate=-0.1), "learning_rate"),
    (lambda: Adam(learning_rate=math.nan), "learning_rate"),
    (lambda: RMSprop(learning_rate=math.inf), "learning_rate"),
    (lambda: AdamW(learning_rate=0.0), "learning_rate"),
    (lambda: SGD(momentum=1.0), "momentum"),
    (lambda: SGD(momentum=-0.1), "momentum"),
    (lambda: Adam(beta_1=1.0), "beta_1"),
    (lambda: Adam(beta_1=-0.1), "beta_1"),
    (lambda: Adam(beta_2=1.0), "beta_2"),
    (lambda: AdamW(beta_2=1.5), "beta_2"),
    (lambda: Adam(epsilon=0.0), "epsilon"),
    (lambda: RMSprop(rho=1.0), "rho"),
    (lambda: RMSprop(rho=-0.5), "rho"),
    (lambda: RMSprop(epsilon=-1e-7), "epsilon"),
    (lambda: AdamW(weight_decay=-0.1), "weight_decay"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        make()


@pytest.mark.parametrize("make, argument", [
    (lambda: SGD(learning_rate="0.1"), "learning_rate"),
    (lambda: SGD(nesterov="yes"), "nesterov"),
    (lambda: Adam(beta_1=None), "beta_1"),
])
def test_wrong_types_raise_type_error(make, argument):
    with pytest.raises(TypeError, match=f"`{argument}`"):
        make()


def test_repr():
    assert repr(SGD(0.5, momentum=0.25)) == "SGD(learning_rate=0.5, momentum=0.25, nesterov=False)"
    assert repr(RMSprop()) == "RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-07)"


@pytest.mark.parametrize("make", [lambda: np.ones((4, 6))[:, ::2], lambda: np.ones(3, dtype=np.float32)])
def test_parameters_must_be_updatable_in_place(make):
    param = make()
    if param.flags.c_contiguous:
        param.flags.writeable = False
    with pytest.raises(ValueError, match="in place"):
        optimizers.SGD(0.1).apply([("w", param, np.ones_like(param))])


# -- L1/L2 penalties folded into the update pass ---------------------------------------------------


class _Unfused:
    """The same optimizer, told to leave the penalties to the layers (the reference path)."""

    fuses_penalties = False


@pytest.mark.parametrize("make", [lambda: SGD(0.05, momentum=0.9), lambda: Adam(0.01), lambda: AdamW(0.01),
                                  lambda: RMSprop(0.01)], ids=["sgd", "adam", "adamw", "rmsprop"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_penalties_give_the_bits_of_adding_them_in_the_layers(make, dtype):
    import fastnn
    from fastnn.layers import Conv2D, Dense, Flatten, ReLU, Residual
    from fastnn.regularizers import L1, L2, L1L2

    x = np.random.default_rng(0).standard_normal((48, 4, 4, 2)).astype(dtype)
    y = np.arange(48) % 3

    def trained(optimizer):
        model = fastnn.Sequential([Conv2D(3, 3, padding="same", kernel_regularizer=L1L2(1e-3, 1e-2)), ReLU(),
                                   Residual(Conv2D(3, 3, padding="same", kernel_regularizer=L1(1e-3)), ReLU()),
                                   Flatten(), Dense(3, activation="softmax", kernel_regularizer=L2(1e-2),
                                                    bias_regularizer=L1L2(1e-3, 1e-3))], seed=4, dtype=dtype)
        model.compile(optimizer, "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        return model

    fused = make()
    unfused = type("Unfused" + type(fused).__name__, (_Unfused, type(fused)), {})(**fused.get_config())
    a, b = trained(fused), trained(unfused)
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    # the layers' grads hold the full gradient either way (the fused pass stores it back)
    assert all(np.array_equal(a.layers[-1].grads[k], b.layers[-1].grads[k]) for k in ("W", "b"))


def test_a_regularizer_the_update_cannot_fold_is_added_before_it():
    from fastnn.regularizers import Regularizer

    class Cubic(Regularizer):  # sum(w^3): not an L1/L2 penalty
        def __call__(self, w):
            return float(np.sum(w**3))

        def gradient(self, w):
            return 3 * w**2

    w, g = np.array([1.0, -2.0, 0.5]), np.array([0.1, 0.2, 0.3])
    SGD(0.1).apply([("w", w, g, Cubic())])
    np.testing.assert_array_equal(g, [0.1 + 3.0, 0.2 + 12.0, 0.3 + 0.75])
    np.testing.assert_allclose(w, [1.0 - 0.1 * 3.1, -2.0 - 0.1 * 12.2, 0.5 - 0.1 * 1.05])
