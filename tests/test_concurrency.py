"""The kernels release the GIL and keep per-thread scratch space: many Python threads calling them at
once must each get exactly the result a lone call gets."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import fastnn


def test_concurrent_calls_return_the_results_of_lone_calls(rng):
    tasks = []
    for i in range(24):
        m, k, n = (int(v) for v in rng.integers(1, 300, size=3))
        dtype = np.float32 if i % 2 else np.float64
        x = rng.standard_normal((m, k)).astype(dtype)
        w = rng.standard_normal((k, n)).astype(dtype)
        b = rng.standard_normal(n).astype(dtype)
        tasks.append((i, x, w, b))

    def work(task):
        i, x, w, b = task
        y = fastnn.ops.linear(x, w, b, activation="relu", dropout=0.25, seed=i)
        grads = fastnn.ops.linear_backward(y, x, w, y, activation="relu", dropout=0.25, seed=i)
        return (fastnn.ops.matmul(x, w, trans_a=False), y, *grads,
                fastnn.ops.dropout(x, 0.5, seed=i), fastnn.random.normal(x.shape, seed=i))

    expected = [work(task) for task in tasks]
    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(3):
            for got, want in zip(pool.map(work, tasks), expected):
                for a, b in zip(got, want):
                    np.testing.assert_array_equal(a, b)
