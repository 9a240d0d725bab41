// Raw 32-bit draws: one word per position (four per Philox block), the draws behind dropout.
#pragma once

#include <cstdint>

#include "../common.hpp"

namespace fastnn {

// out[i] = the 32-bit draw at position offset + i of stream `seed`. Single-threaded: callers
// parallelise over chunks.
void random_words(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out);

// Fills out[0:count] in parallel (the public random_bits).
void random_words_parallel(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out);

}  // namespace fastnn
