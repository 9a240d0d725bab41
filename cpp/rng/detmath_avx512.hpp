// detmath.hpp's log_unit and sincos_turns on eight doubles at once (AVX-512), operation for
// operation the scalar code, as detmath_avx2.hpp: the same constants, the same order, no FMA,
// so every lane is bitwise what the scalar function returns. Keep the three files in step.
//
// Only for files compiled with the AVX-512 flags; `static` so each has its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "detmath.hpp"

namespace fastnn::avx512 {

// Exact double of integers in [0, 2^53] held in 64-bit lanes.
static inline __m512d exact_double(__m512i v) { return _mm512_cvtepu64_pd(v); }

static inline __m512d broadcast(double value) { return _mm512_set1_pd(value); }

// The functions below run K independent vectors in lockstep, each step over all K: the series
// are long chains of dependent multiply-adds, and K chains at once keep the FP units busy.

// detmath::log_unit of K x 8 values in (0, 1] (normal numbers).
template <int K>
static inline void log_unit(const __m512d (&x)[K], __m512d (&result)[K]) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kSqrt2 = 1.41421356237309504880;
  __m512d exponent[K], s[K], z[K], series[K];
  for (int k = 0; k < K; ++k) {
    const __m512i bits = _mm512_castpd_si512(x[k]);
    const __m512i biased_exponent = _mm512_srli_epi64(bits, 52);  // x > 0: no sign bit
    exponent[k] = _mm512_sub_pd(exact_double(biased_exponent), broadcast(1023.0));
    const __m512i mantissa = _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi64(0x000fffffffffffff)),
                                             _mm512_set1_epi64(0x3ff0000000000000));
    __m512d m = _mm512_castsi512_pd(mantissa);  // in [1, 2)
    const __mmask8 above = _mm512_cmp_pd_mask(m, broadcast(kSqrt2), _CMP_GT_OQ);
    m = _mm512_mask_mul_pd(m, above, m, broadcast(0.5));
    exponent[k] = _mm512_mask_add_pd(exponent[k], above, exponent[k], broadcast(1.0));  // integers: exact, as int + 1
    const __m512d f = _mm512_sub_pd(m, broadcast(1.0));
    s[k] = _mm512_div_pd(f, _mm512_add_pd(broadcast(2.0), f));
    z[k] = _mm512_mul_pd(s[k], s[k]);
    series[k] = broadcast(detmath::kLogSeries[0]);
  }
  for (int i = 1; i < detmath::kLogTerms; ++i) {
    for (int k = 0; k < K; ++k) {
      series[k] = _mm512_add_pd(_mm512_mul_pd(series[k], z[k]), broadcast(detmath::kLogSeries[i]));
    }
  }
  for (int k = 0; k < K; ++k) {
    const __m512d two_s = _mm512_mul_pd(broadcast(2.0), s[k]);
    const __m512d log_m = _mm512_add_pd(two_s, _mm512_mul_pd(two_s, _mm512_mul_pd(z[k], series[k])));
    result[k] = _mm512_add_pd(_mm512_mul_pd(exponent[k], broadcast(kLn2Hi)),
                              _mm512_add_pd(log_m, _mm512_mul_pd(exponent[k], broadcast(kLn2Lo))));
  }
}

// detmath::sincos_turns: sin and cos of 2 pi u for K x 8 values u in [0, 1).
template <int K>
static inline void sincos_turns(const __m512d (&u)[K], __m512d (&sine)[K], __m512d (&cosine)[K]) {
  constexpr double kTwoPi = 6.28318530717958647692;
  __m512d quarters[K], a[K], a2[K], p[K], q[K];
  for (int k = 0; k < K; ++k) {
    const __m512d u4 = _mm512_mul_pd(u[k], broadcast(4.0));
    quarters[k] = _mm512_floor_pd(_mm512_add_pd(u4, broadcast(0.5)));  // 0..4
    const __m512d t = _mm512_mul_pd(_mm512_sub_pd(u4, quarters[k]), broadcast(0.25));
    a[k] = _mm512_mul_pd(t, broadcast(kTwoPi));
    a2[k] = _mm512_mul_pd(a[k], a[k]);
    p[k] = broadcast(detmath::kSinSeries[0]);
    q[k] = broadcast(detmath::kCosSeries[0]);
  }
  for (int i = 1; i < detmath::kCosTerms; ++i) {
    for (int k = 0; k < K; ++k) {
      if (i < detmath::kSinTerms) p[k] = _mm512_add_pd(_mm512_mul_pd(p[k], a2[k]), broadcast(detmath::kSinSeries[i]));
      q[k] = _mm512_add_pd(_mm512_mul_pd(q[k], a2[k]), broadcast(detmath::kCosSeries[i]));
    }
  }
  const __m512d sign = broadcast(-0.0);
  for (int k = 0; k < K; ++k) {
    const __m512d sin_a = _mm512_add_pd(a[k], _mm512_mul_pd(a[k], _mm512_mul_pd(a2[k], p[k])));
    const __m512d cos_a = _mm512_add_pd(broadcast(1.0), _mm512_mul_pd(a2[k], q[k]));
    // Rotate by the quarter turns (quarter 4 is quarter 0): 1 and 3 swap sin and cos, 2 and 3
    // negate the sine, 1 and 2 the cosine. Negation flips the sign bit, as the scalar `-x` does.
    const __mmask8 one = _mm512_cmp_pd_mask(quarters[k], broadcast(1.0), _CMP_EQ_OQ);
    const __mmask8 two = _mm512_cmp_pd_mask(quarters[k], broadcast(2.0), _CMP_EQ_OQ);
    const __mmask8 three = _mm512_cmp_pd_mask(quarters[k], broadcast(3.0), _CMP_EQ_OQ);
    const __mmask8 swap = one | three;
    const __m512d s = _mm512_mask_blend_pd(swap, sin_a, cos_a);
    const __m512d c = _mm512_mask_blend_pd(swap, cos_a, sin_a);
    sine[k] = _mm512_mask_xor_pd(s, __mmask8(two | three), s, sign);
    cosine[k] = _mm512_mask_xor_pd(c, __mmask8(one | two), c, sign);
  }
}

}  // namespace fastnn::avx512
