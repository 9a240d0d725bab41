// What the CPU can do, read once at run time: SIMD features the OS has enabled, and the
// cache sizes from which the GEMM derives its blocking.
#pragma once

#include <string>

#include "../common.hpp"

namespace fastnn {

struct CpuFeatures {
  std::string vendor;   // e.g. "AuthenticAMD", "GenuineIntel"; empty off x86
  std::string brand;    // the processor's marketing name, when the CPU reports one
  bool avx2 = false;    // AVX2 and FMA3, with the OS saving YMM state
  bool avx512 = false;  // AVX-512 F, DQ, BW and VL, with the OS saving ZMM state
};

struct CacheSizes {
  index_t l1d = 32 * 1024;         // bytes per core
  index_t l2 = 1024 * 1024;        // bytes per core
  index_t l3 = 8 * 1024 * 1024;    // bytes, whole cache
};

const CpuFeatures& cpu_features();
const CacheSizes& cache_sizes();

}  // namespace fastnn
