// Raw 32-bit draws: one word per position (four per Philox block), the draws behind dropout.
#pragma once

#include <cstdint>

#include "../common.hpp"
#include "kernels.hpp"
#include "scalar.hpp"

namespace fastnn {

// Below this many words a call stays scalar: the SIMD kernel computes whole batches of eight
// blocks and is reached through the kernel table, which only pays from a few blocks on.
constexpr index_t kSimdWordsMin = 16;

// out[i] = the 32-bit draw at position offset + i of stream `seed`. Single-threaded: callers
// parallelise over chunks. Inline (and `static`) because kernels call it for short segments,
// such as one row of a GEMM tile, where a call per segment would cost more than the draws.
// Every path gives the same words (kernels.hpp).
static inline void random_words(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out) {
  if (count >= kSimdWordsMin) {
    rng_kernels().random_words(seed, offset, count, out);
  } else {
    scalar::random_words(seed, offset, count, out);
  }
}

// Fills out[0:count] in parallel (the public random_bits).
void random_words_parallel(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out);

}  // namespace fastnn
