// The FMA peak loop for avx2: 12 independent chains of 8-wide float32 FMA (see fma_probe.hpp).
#include <immintrin.h>

#include "fma_probe.hpp"

namespace fastnn::avx2 {

double fma_probe_f32(std::int64_t iterations, float* sink) {
  constexpr int kChains = 12, kLanes = 8;
  const __m256 scale = _mm256_set1_ps(0.999999f), shift = _mm256_set1_ps(1e-7f);
  __m256 acc[kChains];
#pragma GCC unroll 12
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(float(i));
  for (std::int64_t step = 0; step < iterations; ++step) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], scale, shift);
  }
  __m256 total = acc[0];
  for (int i = 1; i < kChains; ++i) total = _mm256_add_ps(total, acc[i]);
  alignas(64) float lanes[kLanes];
  _mm256_store_ps(lanes, total);
  *sink = lanes[0];
  return 2.0 * kChains * kLanes * double(iterations);
}

}  // namespace fastnn::avx2
