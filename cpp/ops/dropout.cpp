#include "dropout.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "../parallel.hpp"
#include "../rng/kernels.hpp"
#include "../rng/random_bits.hpp"

namespace fastnn {
namespace {

// Elements per thread at least: 1M elements still go to two threads, while a call small enough
// to finish in a few microseconds stays on one.
constexpr index_t kDropoutGrain = index_t{1} << 15;
constexpr index_t kWordsPerChunk = 1024;  // draws of dropout_mask made at once, kept in L1

template <class T>
void dropout_kernel(const T* x, T* y, index_t n, const DropoutArgs<T>& args);
template <>
void dropout_kernel<float>(const float* x, float* y, index_t n, const DropoutArgs<float>& args) {
  rng_kernels().dropout_f32(x, y, n, args);
}
template <>
void dropout_kernel<double>(const double* x, double* y, index_t n, const DropoutArgs<double>& args) {
  rng_kernels().dropout_f64(x, y, n, args);
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
  // Any split gives the same bits: every element depends on its position alone.
  parallel_for(n, kDropoutGrain, [&](index_t begin, index_t end) {
    const DropoutArgs<T> args{params.threshold, T(params.keep_scale), params.seed, params.offset + std::uint64_t(begin)};
    dropout_kernel<T>(x + begin, y + begin, end - begin, args);
  });
}

void dropout_mask(std::uint8_t* keep, index_t n, const DropoutParams& params) {
  const std::uint32_t threshold = params.threshold;
  parallel_for(n, kDropoutGrain, [&](index_t begin, index_t end) {
    std::uint32_t words[kWordsPerChunk];
    for (index_t start = begin; start < end; start += kWordsPerChunk) {
      const index_t length = std::min(kWordsPerChunk, end - start);
      random_words(params.seed, params.offset + std::uint64_t(start), length, words);
      for (index_t j = 0; j < length; ++j) keep[start + j] = words[j] >= threshold ? 1 : 0;
    }
  });
}

template void dropout<float>(const float*, float*, index_t, const DropoutParams&);
template void dropout<double>(const double*, double*, index_t, const DropoutParams&);

}  // namespace fastnn
