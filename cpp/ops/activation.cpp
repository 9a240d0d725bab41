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

template void multiply_by_derivative<float>(float*, const float*, index_t, Activation, float, float);
template void multiply_by_derivative<double>(double*, const double*, index_t, Activation, double, double);

}  // namespace fastnn
