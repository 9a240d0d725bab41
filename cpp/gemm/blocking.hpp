// Cache blocking for the GEMM: the one place where MC, KC and NC are derived from a
// micro-kernel's tile (MR x NR) and the cache sizes read at run time.
#pragma once

#include <cstddef>

#include "../common.hpp"
#include "../cpu/features.hpp"

namespace fastnn {

struct GemmBlocking {
  index_t mr, nr;  // the micro-kernel's tile
  index_t kc;      // depth of one packed block: a kc x NR panel of B stays in L1
  index_t mc;      // rows of A packed at once: the mc x kc block stays in L2 (multiple of MR)
  index_t nc;      // columns of B packed at once: the kc x nc block stays in L3 (multiple of NR)
  index_t nb;      // columns of B packed at once by a thread whose rows fit in one MC block: the
                   // kc x nb block stays in L2 (multiple of NR, at most nc)
};

GemmBlocking derive_blocking(index_t mr, index_t nr, std::size_t element_size, const CacheSizes& caches);

// nb for a blocking whose mr, nr, kc and nc are set.
index_t streamed_columns(const GemmBlocking& blocking, std::size_t element_size, const CacheSizes& caches);

}  // namespace fastnn
