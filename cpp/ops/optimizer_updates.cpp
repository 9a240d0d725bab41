#include "optimizer_updates.hpp"

#include <cmath>

#include "../parallel.hpp"

namespace fastnn {
namespace {

constexpr index_t kUpdateGrain = index_t{1} << 15;

}  // namespace

template <class T>
void sgd_update(T* w, const T* g, T* velocity, index_t n, double learning_rate, double momentum, bool nesterov) {
  const T lr = T(learning_rate), mu = T(momentum);
  parallel_for(n, kUpdateGrain, [&](index_t begin, index_t end) {
    if (!velocity) {
      for (index_t i = begin; i < end; ++i) w[i] -= g[i] * lr;
      return;
    }
    for (index_t i = begin; i < end; ++i) {
      const T step = g[i] * lr;
      const T v = velocity[i] * mu - step;
      velocity[i] = v;
      w[i] = nesterov ? (w[i] - step) + v * mu : w[i] + v;
    }
  });
}

template <class T>
void adam_update(T* w, const T* g, T* m, T* v, index_t n, double beta1, double beta2, double epsilon, double c1,
                 double c2, double decay) {
  const T b1 = T(beta1), b2 = T(beta2), one_minus_b1 = T(1 - beta1), one_minus_b2 = T(1 - beta2);
  const T eps = T(epsilon), step = T(c1), correction = T(c2), keep = T(1 - decay);
  parallel_for(n, kUpdateGrain, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      const T gi = g[i];
      const T mi = m[i] * b1 + gi * one_minus_b1;
      const T vi = v[i] * b2 + (gi * gi) * one_minus_b2;
      m[i] = mi;
      v[i] = vi;
      const T wi = decay != 0.0 ? w[i] * keep : w[i];
      w[i] = wi - (mi / (std::sqrt(vi) * correction + eps)) * step;
    }
  });
}

template <class T>
void rmsprop_update(T* w, const T* g, T* v, index_t n, double learning_rate, double rho, double epsilon) {
  const T lr = T(learning_rate), r = T(rho), one_minus_r = T(1 - rho), eps = T(epsilon);
  parallel_for(n, kUpdateGrain, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      const T gi = g[i];
      const T vi = v[i] * r + (gi * gi) * one_minus_r;
      v[i] = vi;
      w[i] -= (gi / std::sqrt(vi + eps)) * lr;
    }
  });
}

template void sgd_update<float>(float*, const float*, float*, index_t, double, double, bool);
template void sgd_update<double>(double*, const double*, double*, index_t, double, double, bool);
template void adam_update<float>(float*, const float*, float*, float*, index_t, double, double, double, double, double,
                                 double);
template void adam_update<double>(double*, const double*, double*, double*, index_t, double, double, double, double,
                                  double, double);
template void rmsprop_update<float>(float*, const float*, float*, index_t, double, double, double);
template void rmsprop_update<double>(double*, const double*, double*, index_t, double, double, double);

}  // namespace fastnn
