// The one-time choice of kernels. At first use the best ISA path that the CPU supports and
// FASTNN_ISA allows (generic < avx2 < avx512) is chosen, and an immutable table of kernel
// pointers and their blocking is built; every call after that reads the table.
#pragma once

#include "../gemm/blocking.hpp"
#include "../gemm/narrow.hpp"
#include "../gemm/ukernel.hpp"
#include "../rng/kernels.hpp"

namespace fastnn {

enum class Isa : int { generic = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);

// The dot-product kernel for narrow outputs (gemm/narrow.hpp), where an ISA has one, and the
// products it was measured to beat the tiles at.
template <class T>
struct NarrowPath {
  NarrowKernel<T> kernel = nullptr;
  const char* name = "";
  index_t group_columns = 0;  // its widest group of columns (see the kernel)
  index_t max_columns = 0;    // outputs up to this wide (and not a multiple of NR)...
  index_t min_depth = 0;      // ...those wider than one group from this k on
};

template <class T>
struct GemmKernel {
  GemmUkernel<T> ukernel;
  const char* name;
  GemmBlocking blocking;
  bool fast_rows = false;  // measured to read a rows block (gemm.hpp) as fast as a packed panel
  NarrowPath<T> narrow;
};

struct KernelTable {
  Isa isa;             // the path in use
  Isa best_supported;  // the best path this CPU and this build could run
  GemmKernel<float> sgemm;
  GemmKernel<double> dgemm;
  RngKernels rng;  // Philox, dropout and the fills (rng/kernels.hpp)
};

// Throws std::invalid_argument when FASTNN_ISA holds an unknown name.
const KernelTable& kernels();

template <class T>
const GemmKernel<T>& gemm_kernel();

}  // namespace fastnn
