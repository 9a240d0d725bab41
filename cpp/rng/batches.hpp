// How the SIMD kernel sets walk a range of stream positions: in batches of whole Philox blocks,
// the first starting at the block that holds `offset`. A batch whose values all fall inside the
// range is computed straight into the output; one at either edge is computed into a scratch
// batch and only its covered values are copied, so an edge costs one batch, never a scalar loop.
//
// Only integer arithmetic, and every instantiation takes lambdas of its own translation unit,
// so no instantiation is shared between files built for different ISAs (STYLE.md).
#pragma once

#include <algorithm>
#include <cstdint>

#include "../common.hpp"

namespace fastnn {

// Positions [offset, offset + n) in batches of `batch_blocks` blocks of `per_block` positions:
//   full(block, i)              the batch starting at `block` fills out[i .. i + kBatch)
//   edge(block, skip, take, i)  values skip .. skip + take - 1 of that batch fill out[i ..]
template <unsigned per_block, unsigned batch_blocks, class Full, class Edge>
static inline void for_each_batch(std::uint64_t offset, index_t n, Full&& full, Edge&& edge) {
  constexpr index_t kBatch = index_t(per_block) * batch_blocks;
  std::uint64_t position = offset;
  for (index_t i = 0; i < n;) {
    const std::uint64_t block = position / per_block;
    const index_t skip = index_t(position % per_block);
    const index_t take = skip == 0 && n - i >= kBatch ? kBatch : std::min(kBatch - skip, n - i);
    if (take == kBatch) {
      full(block, i);
    } else {
      edge(block, skip, take, i);
    }
    i += take;
    position += std::uint64_t(take);
  }
}

}  // namespace fastnn
