// Activations fused into the dense layer's epilogue, and their derivatives expressed through
// the activation's output y (so backward needs no copy of the pre-activation).
// Included by portable translation units only.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "../common.hpp"

namespace fastnn {

enum class Activation : int { identity = 0, relu = 1, leaky_relu = 2, sigmoid = 3, tanh = 4 };

// Throws std::invalid_argument for an unknown name.
Activation parse_activation(const std::string& name);

// e^x for float32 x <= 0 (the sigmoid and tanh below stay within 2 ulp of float64's, as a test
// checks); below ln(FLT_MIN) = -87.3365, where e^x is no longer a normal float, about
// FLT_MIN = 1.2e-38 rather than a subnormal or 0. x = n ln2 + r with
// |r| <= ln2/2, e^r by Cephes' degree-6 polynomial, 2^n put in the exponent bits. No branch
// and no call (std::exp is a libm call per element), so the loops that use it vectorize. n is
// rounded with the 1.5 * 2^23 trick, which also leaves it in the low bits of the sum, so no
// float-to-int conversion is needed (undefined for NaN in C++; a NaN x gives NaN here).
inline float exp_nonpositive(float x) {
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  const float lowest = -87.336544f;  // ln(FLT_MIN): n stays -126, the smallest normal exponent
  const float clamped = x < lowest ? lowest : x;
  const float rounded = clamped * 1.44269504088896341f + kRound;
  const float n = rounded - kRound;
  const float r = (clamped - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  std::uint32_t bits;  // unsigned: a NaN's bits wrap instead of overflowing
  std::memcpy(&bits, &rounded, sizeof bits);
  bits = (bits - 0x4B400000u + 127u) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// Stable on both tails: exp only of -|v|, which cannot overflow.
inline float sigmoid_float(float v) {
  const float e = exp_nonpositive(-std::fabs(v));
  return (v >= 0.0f ? 1.0f : e) / (1.0f + e);  // one division: a division under a select would not vectorize
}

// (1 - e^-2|v|) / (1 + e^-2|v|) with v's sign; below |v| = 0.625, where 1 - e would cancel,
// Cephes' odd polynomial. Branch-free like exp_nonpositive.
inline float tanh_float(float v) {
  const float a = std::fabs(v);
  const float e = exp_nonpositive(-2.0f * a);
  const float large = (1.0f - e) / (1.0f + e);
  const float z = v * v;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * v + v, signed_large = v < 0.0f ? -large : large;
  return a < 0.625f ? small : signed_large;
}

// act(v), the activation chosen at compile time so the loops that use it vectorize; inline
// because the GEMM epilogue applies it to rows as short as one tile. float32's sigmoid and tanh
// use the branch-free forms above (measured: a (128, 784, 512) sigmoid layer took ~690 us more
// than the ReLU one with std::exp, one thread); float64 keeps libm's.
template <Activation A, class T>
inline T activate(T v, T alpha) {
  if constexpr (A == Activation::relu) {
    return v < T(0) ? T(0) : v;  // NaN propagates
  } else if constexpr (A == Activation::leaky_relu) {
    return v < T(0) ? alpha * v : v;
  } else if constexpr (A == Activation::sigmoid) {
    if constexpr (std::is_same_v<T, float>) return sigmoid_float(v);
    // Stable on both tails: exp never overflows.
    if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  } else if constexpr (A == Activation::tanh) {
    if constexpr (std::is_same_v<T, float>) return tanh_float(v);
    return std::tanh(v);
  } else {
    return v;
  }
}

// g · act'(v) at the v where act(v) == y: the derivative through the activation's output.
// ReLU-type derivatives at 0 take the left value.
template <Activation A, class T>
inline T times_derivative(T g, T y, T alpha) {
  if constexpr (A == Activation::relu) {
    return y > T(0) ? g : T(0);
  } else if constexpr (A == Activation::leaky_relu) {
    return g * (y > T(0) ? T(1) : alpha);
  } else if constexpr (A == Activation::sigmoid) {
    return g * (y * (T(1) - y));
  } else if constexpr (A == Activation::tanh) {
    return g * (T(1) - y * y);
  } else {
    return g;
  }
}

// Calls body(std::integral_constant<Activation, A>()) for the run-time act: the loops inside are
// compiled once per activation, each with its own vectorizable body.
template <class Body>
void with_activation(Activation act, Body&& body) {
  switch (act) {
    case Activation::relu: return body(std::integral_constant<Activation, Activation::relu>());
    case Activation::leaky_relu: return body(std::integral_constant<Activation, Activation::leaky_relu>());
    case Activation::sigmoid: return body(std::integral_constant<Activation, Activation::sigmoid>());
    case Activation::tanh: return body(std::integral_constant<Activation, Activation::tanh>());
    default: return body(std::integral_constant<Activation, Activation::identity>());
  }
}

// g[j] *= act'(v) at the v where act(v) == y[j] * y_scale (y_scale undoes dropout's scaling).
template <class T>
void multiply_by_derivative(T* g, const T* y, index_t n, Activation act, T alpha, T y_scale);

}  // namespace fastnn
