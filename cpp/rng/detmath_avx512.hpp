// detmath.hpp's log_unit and sincos_turns on eight doubles at once (AVX-512), operation for
// operation the scalar code, as detmath_avx2.hpp: the same constants, the same order, no FMA,
// so every lane is bitwise what the scalar function returns. Keep the three files in step.
//
// Only for files compiled with the AVX-512 flags; `static` so each has its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace fastnn::avx512 {

// Exact double of integers in [0, 2^53] held in 64-bit lanes.
static inline __m512d exact_double(__m512i v) { return _mm512_cvtepu64_pd(v); }

static inline __m512d broadcast(double value) { return _mm512_set1_pd(value); }

// detmath::log_unit, x in (0, 1] (normal numbers).
static inline __m512d log_unit(__m512d x) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kSqrt2 = 1.41421356237309504880;
  const __m512i bits = _mm512_castpd_si512(x);
  const __m512i biased_exponent = _mm512_srli_epi64(bits, 52);  // x > 0: no sign bit
  __m512d exponent = _mm512_sub_pd(exact_double(biased_exponent), broadcast(1023.0));
  const __m512i mantissa = _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi64(0x000fffffffffffff)),
                                           _mm512_set1_epi64(0x3ff0000000000000));
  __m512d m = _mm512_castsi512_pd(mantissa);  // in [1, 2)
  const __mmask8 above = _mm512_cmp_pd_mask(m, broadcast(kSqrt2), _CMP_GT_OQ);
  m = _mm512_mask_mul_pd(m, above, m, broadcast(0.5));
  exponent = _mm512_mask_add_pd(exponent, above, exponent, broadcast(1.0));  // integers: exact, as int + 1
  const __m512d f = _mm512_sub_pd(m, broadcast(1.0));
  const __m512d s = _mm512_div_pd(f, _mm512_add_pd(broadcast(2.0), f));
  const __m512d z = _mm512_mul_pd(s, s);
  __m512d series = broadcast(1.0 / 23.0);
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 21.0));
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 19.0));
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 17.0));
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 15.0));
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 13.0));
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 11.0));
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 9.0));
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 7.0));
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 5.0));
  series = _mm512_add_pd(_mm512_mul_pd(series, z), broadcast(1.0 / 3.0));
  const __m512d two_s = _mm512_mul_pd(broadcast(2.0), s);
  const __m512d log_m = _mm512_add_pd(two_s, _mm512_mul_pd(two_s, _mm512_mul_pd(z, series)));
  return _mm512_add_pd(_mm512_mul_pd(exponent, broadcast(kLn2Hi)),
                       _mm512_add_pd(log_m, _mm512_mul_pd(exponent, broadcast(kLn2Lo))));
}

// detmath::sincos_turns: sin and cos of 2 pi u, u in [0, 1).
static inline void sincos_turns(__m512d u, __m512d* sine, __m512d* cosine) {
  constexpr double kTwoPi = 6.28318530717958647692;
  const __m512d u4 = _mm512_mul_pd(u, broadcast(4.0));
  const __m512d quarters = _mm512_floor_pd(_mm512_add_pd(u4, broadcast(0.5)));  // 0..4
  const __m512d t = _mm512_mul_pd(_mm512_sub_pd(u4, quarters), broadcast(0.25));
  const __m512d a = _mm512_mul_pd(t, broadcast(kTwoPi));
  const __m512d a2 = _mm512_mul_pd(a, a);

  __m512d p = broadcast(1.0 / 355687428096000.0);
  p = _mm512_sub_pd(_mm512_mul_pd(p, a2), broadcast(1.0 / 1307674368000.0));
  p = _mm512_add_pd(_mm512_mul_pd(p, a2), broadcast(1.0 / 6227020800.0));
  p = _mm512_sub_pd(_mm512_mul_pd(p, a2), broadcast(1.0 / 39916800.0));
  p = _mm512_add_pd(_mm512_mul_pd(p, a2), broadcast(1.0 / 362880.0));
  p = _mm512_sub_pd(_mm512_mul_pd(p, a2), broadcast(1.0 / 5040.0));
  p = _mm512_add_pd(_mm512_mul_pd(p, a2), broadcast(1.0 / 120.0));
  p = _mm512_sub_pd(_mm512_mul_pd(p, a2), broadcast(1.0 / 6.0));
  const __m512d sin_a = _mm512_add_pd(a, _mm512_mul_pd(a, _mm512_mul_pd(a2, p)));

  __m512d q = broadcast(-1.0 / 6402373705728000.0);
  q = _mm512_add_pd(_mm512_mul_pd(q, a2), broadcast(1.0 / 20922789888000.0));
  q = _mm512_sub_pd(_mm512_mul_pd(q, a2), broadcast(1.0 / 87178291200.0));
  q = _mm512_add_pd(_mm512_mul_pd(q, a2), broadcast(1.0 / 479001600.0));
  q = _mm512_sub_pd(_mm512_mul_pd(q, a2), broadcast(1.0 / 3628800.0));
  q = _mm512_add_pd(_mm512_mul_pd(q, a2), broadcast(1.0 / 40320.0));
  q = _mm512_sub_pd(_mm512_mul_pd(q, a2), broadcast(1.0 / 720.0));
  q = _mm512_add_pd(_mm512_mul_pd(q, a2), broadcast(1.0 / 24.0));
  q = _mm512_sub_pd(_mm512_mul_pd(q, a2), broadcast(0.5));
  const __m512d cos_a = _mm512_add_pd(broadcast(1.0), _mm512_mul_pd(a2, q));

  // Rotate by the quarter turns (quarter 4 is quarter 0): 1 and 3 swap sin and cos, 2 and 3
  // negate the sine, 1 and 2 the cosine. Negation flips the sign bit, as the scalar `-x` does.
  const __mmask8 one = _mm512_cmp_pd_mask(quarters, broadcast(1.0), _CMP_EQ_OQ);
  const __mmask8 two = _mm512_cmp_pd_mask(quarters, broadcast(2.0), _CMP_EQ_OQ);
  const __mmask8 three = _mm512_cmp_pd_mask(quarters, broadcast(3.0), _CMP_EQ_OQ);
  const __m512d sign = broadcast(-0.0);
  const __mmask8 swap = one | three;
  const __m512d s = _mm512_mask_blend_pd(swap, sin_a, cos_a);
  const __m512d c = _mm512_mask_blend_pd(swap, cos_a, sin_a);
  *sine = _mm512_mask_xor_pd(s, __mmask8(two | three), s, sign);
  *cosine = _mm512_mask_xor_pd(c, __mmask8(one | two), c, sign);
}

}  // namespace fastnn::avx512
