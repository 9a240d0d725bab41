"""fastnn: fast, exactly reproducible neural-network building blocks for the CPU.

Modules: :mod:`fastnn.ops` (matmul, the fused dense layer, dropout), :mod:`fastnn.init`
(weight initializers), :mod:`fastnn.random` (the Philox4x32-10 stream they all draw from).
"""

from . import init, ops, random
from ._runtime import cpu_info, get_num_threads, set_num_threads

__version__ = "0.1.0"

__all__ = ["init", "ops", "random", "cpu_info", "get_num_threads", "set_num_threads", "__version__"]
