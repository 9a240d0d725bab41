// detmath.hpp's log_unit and sincos_turns on four doubles at once (AVX2), operation for
// operation the scalar code: the same constants, the same order, no FMA (the build passes
// -ffp-contract=off), so every lane is bitwise what the scalar function returns. Keep the two
// files in step: a change to one is a change to the other, and tests compare them bit for bit.
//
// Only for files compiled with -mavx2; `static` so each has its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "detmath.hpp"

namespace fastnn::avx2 {

// Exact double of integers in [0, 2^53] held in 64-bit lanes (AVX2 has no int64 -> double):
// each 32-bit half through the 2^52 bias trick, then hi * 2^32 + lo, exact below 2^53 + 1.
static inline __m256d exact_double(__m256i v) {
  const __m256i bias_bits = _mm256_set1_epi64x(0x4330000000000000);  // 2^52
  const __m256d bias = _mm256_set1_pd(4503599627370496.0);
  const __m256i low_half = _mm256_and_si256(v, _mm256_set1_epi64x(0xFFFFFFFF));
  const __m256i high_half = _mm256_srli_epi64(v, 32);
  const __m256d low = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(low_half, bias_bits)), bias);
  const __m256d high = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(high_half, bias_bits)), bias);
  return _mm256_add_pd(_mm256_mul_pd(high, _mm256_set1_pd(4294967296.0)), low);
}

static inline __m256d broadcast(double value) { return _mm256_set1_pd(value); }

// The functions below run K independent vectors in lockstep, each step over all K: the series
// are long chains of dependent multiply-adds, and K chains at once keep the FP units busy.

// detmath::log_unit of K x 4 values in (0, 1] (normal numbers).
template <int K>
static inline void log_unit(const __m256d (&x)[K], __m256d (&result)[K]) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kSqrt2 = 1.41421356237309504880;
  __m256d exponent[K], s[K], z[K], series[K];
  for (int k = 0; k < K; ++k) {
    const __m256i bits = _mm256_castpd_si256(x[k]);
    const __m256i biased_exponent = _mm256_srli_epi64(bits, 52);  // x > 0: no sign bit
    exponent[k] = _mm256_sub_pd(exact_double(biased_exponent), broadcast(1023.0));
    const __m256i mantissa = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000fffffffffffff)),
                                             _mm256_set1_epi64x(0x3ff0000000000000));
    __m256d m = _mm256_castsi256_pd(mantissa);  // in [1, 2)
    const __m256d above = _mm256_cmp_pd(m, broadcast(kSqrt2), _CMP_GT_OQ);
    m = _mm256_blendv_pd(m, _mm256_mul_pd(m, broadcast(0.5)), above);
    exponent[k] = _mm256_add_pd(exponent[k], _mm256_and_pd(above, broadcast(1.0)));  // integers: exact, as int + 1
    const __m256d f = _mm256_sub_pd(m, broadcast(1.0));
    s[k] = _mm256_div_pd(f, _mm256_add_pd(broadcast(2.0), f));
    z[k] = _mm256_mul_pd(s[k], s[k]);
    series[k] = broadcast(detmath::kLogSeries[0]);
  }
  for (int i = 1; i < detmath::kLogTerms; ++i) {
    for (int k = 0; k < K; ++k) {
      series[k] = _mm256_add_pd(_mm256_mul_pd(series[k], z[k]), broadcast(detmath::kLogSeries[i]));
    }
  }
  for (int k = 0; k < K; ++k) {
    const __m256d two_s = _mm256_mul_pd(broadcast(2.0), s[k]);
    const __m256d log_m = _mm256_add_pd(two_s, _mm256_mul_pd(two_s, _mm256_mul_pd(z[k], series[k])));
    result[k] = _mm256_add_pd(_mm256_mul_pd(exponent[k], broadcast(kLn2Hi)),
                              _mm256_add_pd(log_m, _mm256_mul_pd(exponent[k], broadcast(kLn2Lo))));
  }
}

// detmath::sincos_turns: sin and cos of 2 pi u for K x 4 values u in [0, 1).
template <int K>
static inline void sincos_turns(const __m256d (&u)[K], __m256d (&sine)[K], __m256d (&cosine)[K]) {
  constexpr double kTwoPi = 6.28318530717958647692;
  __m256d quarters[K], a[K], a2[K], p[K], q[K];
  for (int k = 0; k < K; ++k) {
    const __m256d u4 = _mm256_mul_pd(u[k], broadcast(4.0));
    quarters[k] = _mm256_floor_pd(_mm256_add_pd(u4, broadcast(0.5)));  // 0..4
    const __m256d t = _mm256_mul_pd(_mm256_sub_pd(u4, quarters[k]), broadcast(0.25));
    a[k] = _mm256_mul_pd(t, broadcast(kTwoPi));
    a2[k] = _mm256_mul_pd(a[k], a[k]);
    p[k] = broadcast(detmath::kSinSeries[0]);
    q[k] = broadcast(detmath::kCosSeries[0]);
  }
  for (int i = 1; i < detmath::kCosTerms; ++i) {
    for (int k = 0; k < K; ++k) {
      if (i < detmath::kSinTerms) p[k] = _mm256_add_pd(_mm256_mul_pd(p[k], a2[k]), broadcast(detmath::kSinSeries[i]));
      q[k] = _mm256_add_pd(_mm256_mul_pd(q[k], a2[k]), broadcast(detmath::kCosSeries[i]));
    }
  }
  const __m256d sign = broadcast(-0.0);
  for (int k = 0; k < K; ++k) {
    const __m256d sin_a = _mm256_add_pd(a[k], _mm256_mul_pd(a[k], _mm256_mul_pd(a2[k], p[k])));
    const __m256d cos_a = _mm256_add_pd(broadcast(1.0), _mm256_mul_pd(a2[k], q[k]));
    // Rotate by the quarter turns (quarter 4 is quarter 0): 1 and 3 swap sin and cos, 2 and 3
    // negate the sine, 1 and 2 the cosine. Negation flips the sign bit, as the scalar `-x` does.
    const __m256d one = _mm256_cmp_pd(quarters[k], broadcast(1.0), _CMP_EQ_OQ);
    const __m256d two = _mm256_cmp_pd(quarters[k], broadcast(2.0), _CMP_EQ_OQ);
    const __m256d three = _mm256_cmp_pd(quarters[k], broadcast(3.0), _CMP_EQ_OQ);
    const __m256d swap = _mm256_or_pd(one, three);
    const __m256d s = _mm256_blendv_pd(sin_a, cos_a, swap);
    const __m256d c = _mm256_blendv_pd(cos_a, sin_a, swap);
    sine[k] = _mm256_xor_pd(s, _mm256_and_pd(_mm256_or_pd(two, three), sign));
    cosine[k] = _mm256_xor_pd(c, _mm256_and_pd(_mm256_or_pd(one, two), sign));
  }
}

}  // namespace fastnn::avx2
