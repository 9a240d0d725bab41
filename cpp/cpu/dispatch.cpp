#include "dispatch.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "features.hpp"

namespace fastnn {
namespace {

Isa best_supported_isa() {
#if defined(FASTNN_HAVE_X86_KERNELS)
  const CpuFeatures& features = cpu_features();
  if (features.avx512) return Isa::avx512;
  if (features.avx2) return Isa::avx2;
#endif
  return Isa::generic;
}

// FASTNN_ISA caps the choice; unset or empty means no cap.
Isa isa_cap_from_environment() {
  const char* value = std::getenv("FASTNN_ISA");
  if (value == nullptr || *value == '\0') return Isa::avx512;
  const std::string name(value);
  if (name == "generic") return Isa::generic;
  if (name == "avx2") return Isa::avx2;
  if (name == "avx512") return Isa::avx512;
  throw std::invalid_argument("Environment variable FASTNN_ISA must be one of 'generic', 'avx2', 'avx512'. Received: FASTNN_ISA='" +
                              name + "'");
}

// FASTNN_GEMM_BLOCKING="MC,KC,NC" replaces the blocking derived from the caches (for tuning
// on a new machine; values are rounded down to multiples of the tile); unset or empty: derived.
GemmBlocking blocking_from_environment(index_t mr, index_t nr, std::size_t element_size) {
  GemmBlocking derived = derive_blocking(mr, nr, element_size, cache_sizes());
  const char* value = std::getenv("FASTNN_GEMM_BLOCKING");
  if (value == nullptr || *value == '\0') return derived;
  long long mc = 0, kc = 0, nc = 0;
  char tail = 0;
  if (std::sscanf(value, "%lld,%lld,%lld%c", &mc, &kc, &nc, &tail) != 3 || mc < mr || kc < 1 || nc < nr) {
    throw std::invalid_argument("Environment variable FASTNN_GEMM_BLOCKING must be 'MC,KC,NC' with MC >= " +
                                std::to_string(mr) + ", KC >= 1 and NC >= " + std::to_string(nr) +
                                ". Received: FASTNN_GEMM_BLOCKING='" + value + "'");
  }
  GemmBlocking blocking{mr, nr, static_cast<index_t>(kc), static_cast<index_t>(mc) / mr * mr,
                       static_cast<index_t>(nc) / nr * nr, 0};
  blocking.nb = streamed_columns(blocking, element_size, cache_sizes());
  return blocking;
}

template <class T>
GemmKernel<T> make_gemm_kernel(GemmUkernel<T> ukernel, const char* name, index_t mr, index_t nr,
                               bool fast_rows = false, NarrowPath<T> narrow = {}) {
  return GemmKernel<T>{ukernel, name, blocking_from_environment(mr, nr, sizeof(T)), fast_rows, narrow};
}

KernelTable build_table() {
  KernelTable table{};
  table.best_supported = best_supported_isa();
  table.isa = std::min(table.best_supported, isa_cap_from_environment());
  switch (table.isa) {
#if defined(FASTNN_HAVE_X86_KERNELS)
    case Isa::avx512:
      table.sgemm = make_gemm_kernel<float>(avx512::sgemm_ukernel_14x32, "sgemm_ukernel_14x32__avx512", 14, 32);
      table.dgemm = make_gemm_kernel<double>(avx512::dgemm_ukernel_14x16, "dgemm_ukernel_14x16__avx512", 14, 16);
      table.rng = avx512::rng_kernels;
      break;
    case Isa::avx2:
      // Narrow outputs: measured against the tiles at n = 1-12, m = 4096 (k = 1-512) and
      // m = 128 (k = 32-512; float64 1-512), both builds interleaved. Up to 4 columns the dot
      // products took 0.3-0.94x the tiles' time at every k (up to 1.08x at k = 1); 6-12 columns
      // from k = 64 on 0.5-1.03x (n = 10 at (128, 512): 0.64x float32, 0.66x float64), but up to
      // 2.5x below it, where a tile's reductions are too short to pay for their final sums.
      // float64 n = 8 fills the 6x8 tiles, which stay faster (1.02-1.24x from k = 64 on).
      table.sgemm = make_gemm_kernel<float>(avx2::sgemm_ukernel_6x16, "sgemm_ukernel_6x16__avx2_fma", 6, 16, true,
                                            {avx2::sgemm_narrow, "sgemm_narrow__avx2_fma", avx2::kNarrowGroupColumns, 12, 64});
      table.dgemm = make_gemm_kernel<double>(avx2::dgemm_ukernel_6x8, "dgemm_ukernel_6x8__avx2_fma", 6, 8, false,
                                             {avx2::dgemm_narrow, "dgemm_narrow__avx2_fma", avx2::kNarrowGroupColumns, 12, 64});
      table.rng = avx2::rng_kernels;
      break;
#endif
    default:
      table.sgemm = make_gemm_kernel<float>(generic::sgemm_ukernel_4x8, "sgemm_ukernel_4x8__generic", 4, 8);
      table.dgemm = make_gemm_kernel<double>(generic::dgemm_ukernel_4x4, "dgemm_ukernel_4x4__generic", 4, 4);
      table.rng = generic::rng_kernels;
      break;
  }
  return table;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

const KernelTable& kernels() {
  static const KernelTable table = build_table();
  return table;
}

template <>
const GemmKernel<float>& gemm_kernel<float>() {
  return kernels().sgemm;
}

template <>
const GemmKernel<double>& gemm_kernel<double>() {
  return kernels().dgemm;
}

const RngKernels& rng_kernels() { return kernels().rng; }

}  // namespace fastnn
