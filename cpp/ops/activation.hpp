// Activations fused into the dense layer's epilogue, and their derivatives expressed through
// the activation's output y (so backward needs no copy of the pre-activation).
// Included by portable translation units only.
#pragma once

#include <cmath>
#include <string>

#include "../common.hpp"

namespace fastnn {

enum class Activation : int { identity = 0, relu = 1, leaky_relu = 2, sigmoid = 3, tanh = 4 };

// Throws std::invalid_argument for an unknown name.
Activation parse_activation(const std::string& name);

// act(v), the activation chosen at compile time so the loops that use it vectorize; inline
// because the GEMM epilogue applies it to rows as short as one tile.
template <Activation A, class T>
inline T activate(T v, T alpha) {
  if constexpr (A == Activation::relu) {
    return v < T(0) ? T(0) : v;  // NaN propagates
  } else if constexpr (A == Activation::leaky_relu) {
    return v < T(0) ? alpha * v : v;
  } else if constexpr (A == Activation::sigmoid) {
    // Stable on both tails: exp never overflows.
    if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  } else if constexpr (A == Activation::tanh) {
    return std::tanh(v);
  } else {
    return v;
  }
}

// g[j] *= act'(v) at the v where act(v) == y[j] * y_scale (y_scale undoes dropout's scaling).
// ReLU-type derivatives at 0 take the left value.
template <class T>
void multiply_by_derivative(T* g, const T* y, index_t n, Activation act, T alpha, T y_scale);

}  // namespace fastnn
