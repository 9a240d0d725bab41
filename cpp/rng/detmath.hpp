// Deterministic elementary functions for the random fills. libm's log, sin and cos may differ
// in the last bit between platforms and library versions; these use only IEEE-754 +, -, *, /
// and sqrt (all correctly rounded) in a fixed order, with FMA contraction disabled for the
// whole build, so a fill is bitwise the same on every machine and every ISA path. Accuracy is
// within a few ulp of double precision over the ranges used here.
//
// Header-only and `static` so every translation unit (per-ISA ones included) has its own copy.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace fastnn::detmath {

// The series coefficients, highest power first, shared with the SIMD versions
// (detmath_avx2.hpp, detmath_avx512.hpp) so that every path uses the same doubles.
// 2 atanh(s) = 2 s + 2 s z (1/3 + z/5 + ... + z^10/23), z = s^2.
constexpr int kLogTerms = 11;
constexpr double kLogSeries[kLogTerms] = {1.0 / 23.0, 1.0 / 21.0, 1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0,
                                          1.0 / 11.0, 1.0 / 9.0,  1.0 / 7.0,  1.0 / 5.0,  1.0 / 3.0};
// sin a = a + a a2 (-1/3! + a2/5! - ... + a2^7/17!), a2 = a^2.
constexpr int kSinTerms = 8;
constexpr double kSinSeries[kSinTerms] = {1.0 / 355687428096000.0, -1.0 / 1307674368000.0, 1.0 / 6227020800.0,
                                          -1.0 / 39916800.0,       1.0 / 362880.0,          -1.0 / 5040.0,
                                          1.0 / 120.0,             -1.0 / 6.0};  // 1/17!, ..., 1/3!
// cos a = 1 + a2 (-1/2! + a2/4! - ... - a2^8/18!).
constexpr int kCosTerms = 9;
constexpr double kCosSeries[kCosTerms] = {-1.0 / 6402373705728000.0, 1.0 / 20922789888000.0, -1.0 / 87178291200.0,
                                          1.0 / 479001600.0,         -1.0 / 3628800.0,       1.0 / 40320.0,
                                          -1.0 / 720.0,              1.0 / 24.0,             -0.5};  // 1/18!, ..., 1/2!

// Natural logarithm for x in (0, 1] (normal numbers). With x = 2^e * m, m in [sqrt(1/2),
// sqrt(2)): log(x) = e*ln2 + 2*atanh(s), s = (m - 1) / (m + 1), |s| < 0.1716; the atanh
// series to s^23 is exact to double precision there. m - 1 is exact, so log(x) keeps full
// relative accuracy as x -> 1 (no hole of normal draws around 0).
static inline double log_unit(double x) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 with the low 32 bits zero: e*kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 - kLn2Hi
  constexpr double kSqrt2 = 1.41421356237309504880;
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int exponent = int((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;  // m in [1, 2)
  double m;
  std::memcpy(&m, &bits, sizeof m);
  if (m > kSqrt2) {
    m *= 0.5;
    exponent += 1;
  }
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  double series = kLogSeries[0];
  for (int i = 1; i < kLogTerms; ++i) series = series * z + kLogSeries[i];
  const double log_m = 2.0 * s + 2.0 * s * (z * series);
  const double e = double(exponent);
  return e * kLn2Hi + (log_m + e * kLn2Lo);
}

// sin and cos of 2*pi*u for u in [0, 1). The angle is reduced exactly in units of turns
// (t = u - q/4, q the nearest quarter turn), then Taylor series to degree 17 and 18 on
// [-pi/4, pi/4], where the first omitted term is below 1e-19. The factorials up to 18! are
// exact doubles, so every coefficient is a correctly rounded constant.
static inline void sincos_turns(double u, double* sine, double* cosine) {
  constexpr double kTwoPi = 6.28318530717958647692;
  const double quarters = std::floor(u * 4.0 + 0.5);  // 0..4
  const double t = (u * 4.0 - quarters) * 0.25;       // exact; in [-1/8, 1/8] turns
  const double a = t * kTwoPi;
  const double a2 = a * a;

  double p = kSinSeries[0];
  for (int i = 1; i < kSinTerms; ++i) p = p * a2 + kSinSeries[i];  // + (-c) is - c, bit for bit
  const double sin_a = a + a * (a2 * p);

  double q = kCosSeries[0];
  for (int i = 1; i < kCosTerms; ++i) q = q * a2 + kCosSeries[i];
  const double cos_a = 1.0 + a2 * q;

  // Rotate by the quarter turns: angle = quadrant * pi/2 + a.
  switch (int(quarters) & 3) {
    case 0: *sine = sin_a; *cosine = cos_a; break;
    case 1: *sine = cos_a; *cosine = -sin_a; break;
    case 2: *sine = -sin_a; *cosine = -cos_a; break;
    default: *sine = -cos_a; *cosine = sin_a; break;
  }
}

}  // namespace fastnn::detmath
