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
  with_activation(act, [&](auto a) {
    for (index_t j = 0; j < n; ++j) g[j] = times_derivative<decltype(a)::value>(g[j], y[j] * y_scale, alpha);
  });
}

template void multiply_by_derivative<float>(float*, const float*, index_t, Activation, float, float);
template void multiply_by_derivative<double>(double*, const double*, index_t, Activation, double, double);

}  // namespace fastnn
