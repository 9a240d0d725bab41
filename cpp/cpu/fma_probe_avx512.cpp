// The FMA peak loop for avx512: 24 independent chains of 16-wide float32 FMA (see fma_probe.hpp).
#include <immintrin.h>

#include "fma_probe.hpp"

namespace fastnn::avx512 {

double fma_probe_f32(std::int64_t iterations, float* sink) {
  constexpr int kChains = 24, kLanes = 16;
  const __m512 scale = _mm512_set1_ps(0.999999f), shift = _mm512_set1_ps(1e-7f);
  __m512 acc[kChains];
#pragma GCC unroll 24
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(float(i));
  for (std::int64_t step = 0; step < iterations; ++step) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], scale, shift);
  }
  __m512 total = acc[0];
  for (int i = 1; i < kChains; ++i) total = _mm512_add_ps(total, acc[i]);
  alignas(64) float lanes[kLanes];
  _mm512_store_ps(lanes, total);
  *sink = lanes[0];
  return 2.0 * kChains * kLanes * double(iterations);
}

}  // namespace fastnn::avx512
