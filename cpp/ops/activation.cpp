#include "activation.hpp"

#include <cmath>
#include <stdexcept>

namespace fastnn {

Activation parse_activation(const std::string& name) {
  if (name == "identity" || name == "linear") return Activation::identity;
  if (name == "relu") return Activation::relu;
  if (name == "leaky_relu") return Activation::leaky_relu;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "tanh") return Activation::tanh;
  throw std::invalid_argument("Argument `activation` must be one of 'identity', 'relu', 'leaky_relu', 'sigmoid', "
                              "'tanh'. Received: activation='" + name + "'");
}

namespace {

template <class T, class F>
void map_with_bias(T* y, const T* bias, index_t n, F&& f) {
  if (bias) {
    for (index_t j = 0; j < n; ++j) y[j] = f(y[j] + bias[j]);
  } else {
    for (index_t j = 0; j < n; ++j) y[j] = f(y[j]);
  }
}

// Stable on both tails: exp never overflows.
template <class T>
T sigmoid(T v) {
  if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
  const T e = std::exp(v);
  return e / (T(1) + e);
}

}  // namespace

template <class T>
void bias_and_activation(T* y, const T* bias, index_t n, Activation act, T alpha) {
  switch (act) {
    case Activation::relu: return map_with_bias(y, bias, n, [](T v) { return v < T(0) ? T(0) : v; });  // NaN propagates
    case Activation::leaky_relu: return map_with_bias(y, bias, n, [alpha](T v) { return v < T(0) ? alpha * v : v; });
    case Activation::sigmoid: return map_with_bias(y, bias, n, [](T v) { return sigmoid(v); });
    case Activation::tanh: return map_with_bias(y, bias, n, [](T v) { return std::tanh(v); });
    default:
      if (bias) map_with_bias(y, bias, n, [](T v) { return v; });
      return;
  }
}

template <class T>
void multiply_by_derivative(T* g, const T* y, index_t n, Activation act, T alpha, T y_scale) {
  switch (act) {
    case Activation::relu:
      for (index_t j = 0; j < n; ++j) g[j] = y[j] > T(0) ? g[j] : T(0);
      return;
    case Activation::leaky_relu:
      for (index_t j = 0; j < n; ++j) g[j] *= y[j] > T(0) ? T(1) : alpha;
      return;
    case Activation::sigmoid:
      for (index_t j = 0; j < n; ++j) {
        const T s = y[j] * y_scale;
        g[j] *= s * (T(1) - s);
      }
      return;
    case Activation::tanh:
      for (index_t j = 0; j < n; ++j) {
        const T t = y[j] * y_scale;
        g[j] *= T(1) - t * t;
      }
      return;
    default:
      return;
  }
}

template void bias_and_activation<float>(float*, const float*, index_t, Activation, float);
template void bias_and_activation<double>(double*, const double*, index_t, Activation, double);
template void multiply_by_derivative<float>(float*, const float*, index_t, Activation, float, float);
template void multiply_by_derivative<double>(double*, const double*, index_t, Activation, double, double);

}  // namespace fastnn
