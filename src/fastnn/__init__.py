"""fastnn: fast, exactly reproducible neural networks for the CPU.

Low level: :mod:`fastnn.ops` (matmul, the fused dense layer, dropout), :mod:`fastnn.init` (weight
initializers), :mod:`fastnn.random` (the Philox4x32-10 stream they all draw from).
Models: :class:`Sequential` with :mod:`fastnn.layers`, :mod:`fastnn.losses`,
:mod:`fastnn.optimizers`, :mod:`fastnn.regularizers` and :mod:`fastnn.callbacks`; data:
:mod:`fastnn.datasets` (toy problems, train_test_split, the embedded 8x8 digits).
"""

__version__ = "0.1.0"

import os as _os

# OpenMP threads that spin while waiting for work steal the core a descheduled teammate needs:
# on a shared machine each join can then cost a scheduler time slice (measured here: 2-thread
# training 7-26x slower than 1 thread beside other busy processes). Sleeping waits cost a
# futex wake-up per parallel region instead. OpenMP reads the policy once, when its runtime
# loads with the extension, so it is set only around that import and the environment is
# restored (other libraries' OpenMP runtimes are not affected). A user's own setting wins.
_policy_is_ours = "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ
if _policy_is_ours:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
try:
    from . import _core  # noqa: F401  (loads the OpenMP runtime)
finally:
    if _policy_is_ours:
        del _os.environ["OMP_WAIT_POLICY"]

from . import augment, callbacks, datasets, init, layers, losses, optimizers, ops, random, regularizers
from ._runtime import cpu_info, fma_peak_gflops, get_num_threads, set_num_threads
from .model import Sequential
from .saving import load_model

__all__ = [
    "Sequential", "load_model", "layers", "augment", "losses", "optimizers", "regularizers", "callbacks", "datasets",
    "init", "ops", "random", "cpu_info", "fma_peak_gflops", "get_num_threads", "set_num_threads", "__version__",
]
