// Raw 32-bit draws: one word per position (four per Philox block), the draws behind dropout.
#pragma once

#include <cstdint>

#include "../common.hpp"
#include "philox.hpp"

namespace fastnn {

// out[i] = the 32-bit draw at position offset + i of stream `seed`. Single-threaded: callers
// parallelise over chunks. Inline (and `static`, as philox.hpp) because kernels call it for
// short segments, such as one row of a GEMM tile, where a call per segment would cost more
// than the draws.
static inline void random_words(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out) {
  if (count <= 0) return;
  std::uint64_t block = offset >> 2;
  index_t i = 0;
  // A partial first block when the offset is not a multiple of four.
  if (const unsigned first = unsigned(offset & 3); first != 0) {
    const PhiloxBlock head = philox_block(seed, block++);
    for (unsigned word = first; word < 4 && i < count; ++word) out[i++] = head.word[word];
  }
  for (; i + 4 <= count; i += 4) {
    const PhiloxBlock full = philox_block(seed, block++);
    out[i] = full.word[0];
    out[i + 1] = full.word[1];
    out[i + 2] = full.word[2];
    out[i + 3] = full.word[3];
  }
  if (i < count) {
    const PhiloxBlock tail = philox_block(seed, block);
    for (unsigned word = 0; i < count; ++word) out[i++] = tail.word[word];
  }
}

// Fills out[0:count] in parallel (the public random_bits).
void random_words_parallel(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out);

}  // namespace fastnn
