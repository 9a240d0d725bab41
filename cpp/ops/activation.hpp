// Activations fused into the dense layer's epilogue, and their derivatives expressed through
// the activation's output y (so backward needs no copy of the pre-activation).
// Included by portable translation units only.
#pragma once

#include <cmath>
#include <string>

namespace fastnn {

enum class Activation : int { identity = 0, relu = 1, leaky_relu = 2, sigmoid = 3, tanh = 4 };

// Throws std::invalid_argument for an unknown name.
Activation parse_activation(const std::string& name);

template <class T>
inline T activate(Activation act, T v, T alpha) {
  switch (act) {
    case Activation::relu: return v < T(0) ? T(0) : v;  // NaN propagates
    case Activation::leaky_relu: return v < T(0) ? alpha * v : v;
    case Activation::sigmoid: {
      // Stable on both tails: exp never overflows.
      if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
      const T e = std::exp(v);
      return e / (T(1) + e);
    }
    case Activation::tanh: return std::tanh(v);
    default: return v;
  }
}

// d act / d v at the point where act(v) == y. Relu-type derivatives at 0 take the left value.
template <class T>
inline T activation_derivative_from_output(Activation act, T y, T alpha) {
  switch (act) {
    case Activation::relu: return y > T(0) ? T(1) : T(0);
    case Activation::leaky_relu: return y > T(0) ? T(1) : alpha;
    case Activation::sigmoid: return y * (T(1) - y);
    case Activation::tanh: return T(1) - y * y;
    default: return T(1);
  }
}

}  // namespace fastnn
