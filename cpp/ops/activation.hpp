// Activations fused into the dense layer's epilogue, and their derivatives expressed through
// the activation's output y (so backward needs no copy of the pre-activation).
// Included by portable translation units only.
#pragma once

#include <string>

#include "../common.hpp"

namespace fastnn {

enum class Activation : int { identity = 0, relu = 1, leaky_relu = 2, sigmoid = 3, tanh = 4 };

// Throws std::invalid_argument for an unknown name.
Activation parse_activation(const std::string& name);

// y[j] = act(y[j] + bias[j]) for j < n; bias may be null. One loop per activation (the choice
// is made once per call, not per element), so the compiler can vectorize each.
template <class T>
void bias_and_activation(T* y, const T* bias, index_t n, Activation act, T alpha);

// g[j] *= act'(v) at the v where act(v) == y[j] * y_scale (y_scale undoes dropout's scaling).
// ReLU-type derivatives at 0 take the left value.
template <class T>
void multiply_by_derivative(T* g, const T* y, index_t n, Activation act, T alpha, T y_scale);

}  // namespace fastnn
