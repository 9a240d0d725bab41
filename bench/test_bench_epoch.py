"""One training epoch of an MLP 784-512-512-10, end to end, at batch 128 on 60,000 samples.

The network: Dense 512 + ReLU + inverted dropout 0.2, Dense 512 + ReLU + dropout 0.2, Dense 10,
softmax cross-entropy on integer labels, plain SGD with learning rate 0.01, shuffled every epoch.
The data: 60,000 x 784 float32 standard normal inputs (fixed seed) with labels
``argmax(x @ R)`` for a fixed random R (784 x 10), so every member can learn them; the same data
for all members.

- fastnn: ``Sequential([Dense(512, activation="relu", input_dim=784), Dropout(0.2), Dense(512,
  activation="relu"), Dropout(0.2), Dense(10, activation="softmax")], seed=0)`` compiled with
  ``optimizers.SGD(0.01)`` and "sparse_categorical_crossentropy"; one call
  ``fit(x, y, epochs=1, batch_size=128, shuffle=True, verbose=0)`` is one epoch (the model is
  built once, before timing).
- numpy: the same network written by hand the efficient way: buffers allocated once, in-place
  ufuncs and ``np.matmul(..., out=)``, inverted dropout with ``rng.random(out=, dtype=float32) >=
  p`` (``rng = np.random.default_rng``), the fused softmax cross-entropy gradient
  ``(softmax(z) - onehot) / B``, no input gradient for the first layer, SGD in place, shuffling
  with ``rng.permutation`` and ``np.take(..., out=)`` into the batch buffers; float32 throughout,
  He-normal hidden layers and a Xavier-uniform output layer (fastnn's "auto" choice).
- torch: ``nn.Sequential(Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear)``,
  ``nn.CrossEntropyLoss``, ``torch.optim.SGD(lr=0.01)``, a DataLoader-free loop over the batches
  of ``torch.randperm`` (``x[idx]``, ``zero_grad``, ``backward``, ``step``), starting from the
  NumPy member's initial weights.

Every member also computes each batch's loss as a Python float and the epoch's mean, as ``fit``
does.

Before timing, each member trains one epoch and must bring the inference loss on the first
10,000 samples down by 0.5 (to below ln(10) - 0.1) and their accuracy above 18% (chance: 10%);
a network that does not learn fails here. A second untimed epoch is instrumented to find the time spent in the matrix products; the
``notes`` column of the ratio table gives the share of that epoch spent outside them,
``1 - (GEMM seconds) / (its wall seconds)``, the two figures, and the same share relative to the
median of the timed epochs (this machine's speed drifts from epoch to epoch, so the instrumented
epoch's own wall time is the main denominator):

- fastnn: the C++ kernel calls ``_core.linear`` (GEMM plus its fused bias / activation / dropout
  epilogue), ``_core.linear_backward`` (the mask-and-derivative pass over dy, the GEMMs
  dW = x^T g and, except for the first layer, dx = g W^T, and db) and ``_core.gemm`` count as
  matrix products; everything else (Python, argument checks, the loss, the optimizer, shuffling,
  batch gathers) is outside. The notes also give the share outside the Python-level
  ``ops.linear`` / ``ops.linear_backward`` / ``ops.matmul`` calls (their argument checks and
  output allocations then count as inside);
- numpy: the time inside the ``np.matmul`` calls (the bias, ReLU, dropout, softmax etc. are
  separate ufuncs, outside);
- torch: the self CPU time of ``aten::addmm`` and ``aten::mm`` under ``torch.profiler`` (addmm
  includes the bias it adds through the GEMM's beta). The profiler slows the epoch itself (by
  0.5-1 s of about 4 s on the reference machine), so torch's first share is overstated; its
  share of the median is the better figure, when the machine is steady.

Timing: ``benchmark.pedantic`` with one warm-up epoch and 5 timed epochs per member; the rate is
training samples per second.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Dropout

SEED = 20240504
SAMPLES = 60_000
FEATURES, HIDDEN, CLASSES = 784, 512, 10
BATCH = 128
P = 0.2
LR = 0.01
ROUNDS = 5
EVAL_SAMPLES = 10_000  # the learning check's inference loss is taken on the first ones
GROUP = f"epoch MLP {FEATURES}-{HIDDEN}-{HIDDEN}-{CLASSES} B={BATCH} N={SAMPLES}"


@functools.lru_cache(maxsize=1)
def dataset():
    """(x, y): float32 standard normal inputs, int64 labels argmax(x @ R) for a fixed random R."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((SAMPLES, FEATURES), dtype=np.float32)
    r = rng.standard_normal((FEATURES, CLASSES), dtype=np.float32)
    y = np.argmax(x @ r, axis=1).astype(np.int64)
    return x, y


@functools.lru_cache(maxsize=1)
def initial_weights():
    """[W1, b1, W2, b2, W3, b3] for the NumPy and PyTorch members: He normal, then Xavier uniform."""
    rng = np.random.default_rng([SEED, 1])
    sizes = [FEATURES, HIDDEN, HIDDEN, CLASSES]
    weights = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i < len(sizes) - 2:
            w = rng.standard_normal((fan_in, fan_out), dtype=np.float32) * np.float32(math.sqrt(2.0 / fan_in))
        else:
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)
        weights += [np.ascontiguousarray(w, np.float32), np.zeros(fan_out, np.float32)]
    return weights


def loss_and_accuracy(log_p, labels):
    """Mean cross-entropy and accuracy from log-probabilities (the learning check's figures)."""
    log_p = np.asarray(log_p, np.float64)
    loss = float(-log_p[np.arange(len(labels)), labels].mean())
    return loss, float((log_p.argmax(axis=1) == labels).mean())


def log_softmax(logits):
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


# ---------------------------------------------------------------------------------- members


class FastnnMember:
    def __init__(self, x, y):
        self.x, self.y = x, y
        self.model = fastnn.Sequential([
            Dense(HIDDEN, activation="relu", input_dim=FEATURES), Dropout(P),
            Dense(HIDDEN, activation="relu"), Dropout(P),
            Dense(CLASSES, activation="softmax"),
        ], seed=0)
        self.model.compile(fastnn.optimizers.SGD(LR), "sparse_categorical_crossentropy")

    def epoch(self):
        return self.model.fit(self.x, self.y, epochs=1, batch_size=BATCH, shuffle=True, verbose=0).history["loss"][-1]

    def evaluate(self):
        probabilities = self.model.predict(self.x[:EVAL_SAMPLES])
        return loss_and_accuracy(np.log(np.maximum(probabilities, 1e-30)), self.y[:EVAL_SAMPLES])

    @contextlib.contextmanager
    def instrumented(self, clock):
        """Times the C++ GEMM-backed kernels (clock "kernels") and the ops calls around them ("ops")."""
        with pytest.MonkeyPatch.context() as mp:
            for name in ("linear", "linear_backward", "gemm"):
                mp.setattr(fastnn._core, name, clock.wrap("kernels", getattr(fastnn._core, name)))
            for name in ("linear", "linear_backward", "matmul"):
                mp.setattr(fastnn.ops, name, clock.wrap("ops", getattr(fastnn.ops, name)))
            yield


class NumpyMember:
    """The network by hand, the efficient way (see the module docstring)."""

    def __init__(self, x, y):
        self.x, self.y = x, y
        self.rng = np.random.default_rng([SEED, 2])
        self.params = [w.copy() for w in initial_weights()]
        f32 = np.float32
        self.xb = np.empty((BATCH, FEATURES), f32)
        self.yb = np.empty(BATCH, np.int64)
        self.h = [np.empty((BATCH, HIDDEN), f32) for _ in range(2)]     # hidden outputs after dropout
        self.dh = [np.empty((BATCH, HIDDEN), f32) for _ in range(2)]    # their gradients
        self.z = np.empty((BATCH, CLASSES), f32)                        # logits, then the gradient
        self.zmax = np.empty((BATCH, 1), f32)
        self.zsum = np.empty((BATCH, 1), f32)
        self.picked = np.empty(BATCH, f32)
        self.random = np.empty((BATCH, HIDDEN), f32)
        self.mask = np.empty((BATCH, HIDDEN), np.bool_)
        self.grads = [np.empty_like(p) for p in self.params]
        self.rows = np.arange(BATCH)
        self.scale = f32(1.0 / (1.0 - P))
        self.matmul = np.matmul

    def _hidden(self, inputs, w, b, h, n):
        self.matmul(inputs, w, out=h)
        h += b
        np.maximum(h, 0, out=h)
        random = self.rng.random(out=self.random[:n], dtype=np.float32)
        keep = np.greater_equal(random, np.float32(P), out=self.mask[:n])
        h *= keep
        h *= self.scale

    def _hidden_backward(self, dh, h, n):
        # d/d(pre-activation) of dropout(relu(.)): scale where the output is nonzero, else 0
        dh *= np.greater(h, 0, out=self.mask[:n])
        dh *= self.scale

    def _step(self, xb, yb):
        n = len(yb)
        w1, b1, w2, b2, w3, b3 = self.params
        g_w1, g_b1, g_w2, g_b2, g_w3, g_b3 = self.grads
        h1, h2 = self.h[0][:n], self.h[1][:n]
        dh1, dh2 = self.dh[0][:n], self.dh[1][:n]
        z, zmax, zsum, picked, rows = self.z[:n], self.zmax[:n], self.zsum[:n], self.picked[:n], self.rows[:n]
        matmul = self.matmul
        # forward
        self._hidden(xb, w1, b1, h1, n)
        self._hidden(h1, w2, b2, h2, n)
        matmul(h2, w3, out=z)
        z += b3
        # softmax cross-entropy and its gradient (softmax(z) - onehot) / n, in z
        np.max(z, axis=1, keepdims=True, out=zmax)
        z -= zmax
        np.take(z.reshape(-1), rows * CLASSES + yb, out=picked)  # shifted logit of the label
        np.exp(z, out=z)
        np.sum(z, axis=1, keepdims=True, out=zsum)
        loss = float(np.log(zsum).sum(dtype=np.float64) - picked.sum(dtype=np.float64)) / n
        z /= zsum
        z[rows, yb] -= 1
        z *= np.float32(1.0 / n)
        # backward (no input gradient for the first layer)
        matmul(h2.T, z, out=g_w3)
        np.sum(z, axis=0, out=g_b3)
        matmul(z, w3.T, out=dh2)
        self._hidden_backward(dh2, h2, n)
        matmul(h1.T, dh2, out=g_w2)
        np.sum(dh2, axis=0, out=g_b2)
        matmul(dh2, w2.T, out=dh1)
        self._hidden_backward(dh1, h1, n)
        matmul(xb.T, dh1, out=g_w1)
        np.sum(dh1, axis=0, out=g_b1)
        # SGD in place
        for param, grad in zip(self.params, self.grads):
            grad *= np.float32(LR)
            param -= grad
        return loss

    def epoch(self):
        order = self.rng.permutation(SAMPLES)
        total = 0.0
        for start in range(0, SAMPLES, BATCH):
            index = order[start:start + BATCH]
            n = len(index)
            xb = np.take(self.x, index, axis=0, out=self.xb[:n])
            yb = np.take(self.y, index, out=self.yb[:n])
            total += self._step(xb, yb) * n
        return total / SAMPLES

    def evaluate(self):
        w1, b1, w2, b2, w3, b3 = self.params
        h = np.maximum(self.x[:EVAL_SAMPLES] @ w1 + b1, 0)
        h = np.maximum(h @ w2 + b2, 0)
        return loss_and_accuracy(log_softmax(h @ w3 + b3), self.y[:EVAL_SAMPLES])

    @contextlib.contextmanager
    def instrumented(self, clock):
        self.matmul = clock.wrap("kernels", np.matmul)
        try:
            yield
        finally:
            self.matmul = np.matmul


class TorchMember:
    def __init__(self, x, y):
        torch = self.torch = pytest.importorskip("torch")
        nn = torch.nn
        torch.manual_seed(SEED)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.model = nn.Sequential(
            nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Dropout(P),
            nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Dropout(P),
            nn.Linear(HIDDEN, CLASSES),
        )
        linears = [m for m in self.model if isinstance(m, nn.Linear)]
        weights = initial_weights()
        with torch.no_grad():
            for layer, w, b in zip(linears, weights[0::2], weights[1::2]):
                layer.weight.copy_(torch.from_numpy(w).t())
                layer.bias.copy_(torch.from_numpy(b))
        self.criterion = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)

    def epoch(self):
        self.model.train()
        order = self.torch.randperm(SAMPLES)
        total = 0.0
        for start in range(0, SAMPLES, BATCH):
            index = order[start:start + BATCH]
            xb, yb = self.x[index], self.y[index]
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(index)
        return total / SAMPLES

    def evaluate(self):
        self.model.eval()
        with self.torch.no_grad():
            logits = self.model(self.x[:EVAL_SAMPLES]).numpy()
        self.model.train()
        return loss_and_accuracy(log_softmax(logits), self.y[:EVAL_SAMPLES].numpy())

    @contextlib.contextmanager
    def instrumented(self, clock):
        """Under torch.profiler: afterwards the clock holds addmm's and mm's self CPU time."""
        profiler = self.torch.profiler
        # acc_events: one profiling cycle holds the whole epoch (PyTorch 2.11 warns without it).
        with profiler.profile(activities=[profiler.ProfilerActivity.CPU], acc_events=True) as prof:
            yield
        for event in prof.key_averages():
            if event.key in ("aten::addmm", "aten::mm"):
                clock.add("kernels", event.self_cpu_time_total * 1e-6)


MEMBERS = {"fastnn": FastnnMember, "numpy": NumpyMember, "torch": TorchMember}


class Clock:
    """Accumulated seconds per label, from wrapped calls or added directly."""

    def __init__(self):
        self.seconds = {}

    def add(self, label, seconds):
        self.seconds[label] = self.seconds.get(label, 0.0) + seconds

    def wrap(self, label, fn):
        perf_counter = time.perf_counter

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            start = perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(label, perf_counter() - start)

        return timed


def gemm_seconds(member):
    """Trains one instrumented epoch; returns (its wall seconds, {label: seconds inside the matrix products})."""
    clock = Clock()
    with member.instrumented(clock):
        start = time.perf_counter()
        member.epoch()
        seconds = time.perf_counter() - start
    return seconds, clock.seconds


def test_epoch(measure, member):
    x, y = dataset()
    trainer = MEMBERS[member](x, y)
    # the learning check: one epoch must bring the inference loss well down and the accuracy
    # well above chance (all three members: about 2.93 -> 2.10 and 10% -> 24%)
    before, accuracy_before = trainer.evaluate()
    trainer.epoch()
    after, accuracy = trainer.evaluate()
    assert math.isfinite(after) and after < before - 0.5 and after < math.log(CLASSES) - 0.1 and accuracy > 0.18, (
        f"{member}: after one epoch the inference loss on {EVAL_SAMPLES} training samples went from {before:.4f} "
        f"to {after:.4f} and the accuracy from {accuracy_before:.3f} to {accuracy:.3f}; expected a drop of at "
        f"least 0.5 to below ln({CLASSES}) - 0.1 = {math.log(CLASSES) - 0.1:.3f} and an accuracy above 0.18 "
        f"(chance: {1 / CLASSES})")
    instrumented_seconds, inside = gemm_seconds(trainer)

    def note(median):
        gemm = inside["kernels"]
        text = f"outside GEMM {1 - gemm / instrumented_seconds:.0%} (GEMM {gemm:.2f} s of {instrumented_seconds:.2f} s"
        if median is not None:
            text += f"; {1 - gemm / median:.0%} of the median"
        if "ops" in inside:
            text += f"; outside ops calls {1 - inside['ops'] / instrumented_seconds:.0%}"
        return text + ")"

    measure(trainer.epoch, group=GROUP, member=member, work=float(SAMPLES), unit="ksample", rounds=ROUNDS, note=note)
