"""``python -m fastnn``: report what fastnn detected on this machine and check its kernels.

Prints the ISA path, threads, caches and GEMM blocking in use, then runs one fused dense layer
forward and backward against NumPy as a quick self-check.
"""

import sys
import time

import numpy as np

import fastnn


def main():
    info = fastnn.cpu_info()
    print(f"fastnn {fastnn.__version__} on {info['cpu'] or info['vendor'] or 'unknown CPU'}")
    print(f"  kernels: {info['isa']} (best supported: {info['isa_supported']}), "
          f"threads: {info['num_threads']}, OpenMP: {info['openmp']}")
    caches = info["cache_bytes"]
    print(f"  caches: L1d {caches['l1d'] // 1024} KiB, L2 {caches['l2'] // 1024} KiB, L3 {caches['l3'] // 2**20} MiB")
    for dtype, gemm in info["gemm"].items():
        print(f"  {dtype} GEMM: {gemm['kernel']}, MC={gemm['mc']} KC={gemm['kc']} NC={gemm['nc']}")

    x = fastnn.random.normal((256, 784), seed=1)
    w = fastnn.init.he_normal((784, 512), seed=2)
    b = fastnn.init.zeros(512)
    start = time.perf_counter()
    y = fastnn.ops.linear(x, w, b, activation="relu", dropout=0.5, seed=3)
    dx, dw, db = fastnn.ops.linear_backward(np.ones_like(y), x, w, y, activation="relu", dropout=0.5, seed=3)
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
