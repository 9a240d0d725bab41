#include "dropout.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "../parallel.hpp"
#include "../rng/random_bits.hpp"

namespace fastnn {
namespace {

constexpr index_t kDropoutGrain = index_t{1} << 15;
constexpr index_t kWordsPerChunk = 1024;  // draws generated at once, kept in L1

// Calls body(words, begin, length) over [0, n) in parallel, with words[j] the draw at
// position params.offset + begin + j.
template <class Body>
void for_each_chunk_of_draws(index_t n, const DropoutParams& params, Body&& body) {
  parallel_for(n, kDropoutGrain, [&](index_t begin, index_t end) {
    std::uint32_t words[kWordsPerChunk];
    for (index_t start = begin; start < end; start += kWordsPerChunk) {
      const index_t length = std::min(kWordsPerChunk, end - start);
      random_words(params.seed, params.offset + std::uint64_t(start), length, words);
      body(words, start, length);
    }
  });
}

}  // namespace

DropoutParams DropoutParams::make(double rate, std::uint64_t seed, std::uint64_t offset) {
  if (!(rate >= 0.0 && rate < 1.0)) {
    throw std::invalid_argument("Argument `rate` must be in [0, 1). Received: rate=" + std::to_string(rate));
  }
  DropoutParams params;
  const double threshold = std::nearbyint(rate * 4294967296.0);
  params.threshold = threshold >= 4294967295.0 ? 0xFFFFFFFFu : std::uint32_t(threshold);
  params.keep_scale = 1.0 / (1.0 - rate);
  params.seed = seed;
  params.offset = offset;
  return params;
}

template <class T>
void dropout(const T* x, T* y, index_t n, const DropoutParams& params) {
  const std::uint32_t threshold = params.threshold;
  const T scale = T(params.keep_scale);
  for_each_chunk_of_draws(n, params, [&](const std::uint32_t* words, index_t start, index_t length) {
    apply_dropout(words, x + start, y + start, length, threshold, scale);
  });
}

void dropout_mask(std::uint8_t* keep, index_t n, const DropoutParams& params) {
  const std::uint32_t threshold = params.threshold;
  for_each_chunk_of_draws(n, params, [&](const std::uint32_t* words, index_t start, index_t length) {
    for (index_t j = 0; j < length; ++j) keep[start + j] = words[j] >= threshold ? 1 : 0;
  });
}

template void dropout<float>(const float*, float*, index_t, const DropoutParams&);
template void dropout<double>(const double*, double*, index_t, const DropoutParams&);

}  // namespace fastnn
