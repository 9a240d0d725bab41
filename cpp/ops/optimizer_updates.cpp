#include "optimizer_updates.hpp"

#include <cmath>

#include "../parallel.hpp"

namespace fastnn {
namespace {

constexpr index_t kUpdateGrain = index_t{1} << 15;

// The gradient element a step uses: g, or g + the penalty's gradient (then stored back into g).
// The penalty is summed from 0 in the order L1L2.gradient sums it, so the bits match.
template <class T>
class PenalizedGradient {
 public:
  explicit PenalizedGradient(const Penalty& p)
      : l1_(T(p.l1)), two_l2_(T(2.0 * p.l2)), has_l1_(p.l1 != 0.0), has_l2_(p.l2 != 0.0) {}

  T operator()(T* g, const T* w, index_t i) const {
    if (!has_l1_ && !has_l2_) return g[i];
    T penalty = T(0);
    if (has_l1_) penalty += l1_ * T((w[i] > T(0)) - (w[i] < T(0)));
    if (has_l2_) penalty += two_l2_ * w[i];
    return g[i] = g[i] + penalty;
  }

 private:
  T l1_, two_l2_;
  bool has_l1_, has_l2_;
};

}  // namespace

template <class T>
void sgd_update(T* w, T* g, T* velocity, index_t n, double learning_rate, double momentum, bool nesterov,
                const Penalty& penalty) {
  const T lr = T(learning_rate), mu = T(momentum);
  const PenalizedGradient<T> gradient(penalty);
  parallel_for(n, kUpdateGrain, [&](index_t begin, index_t end) {
    if (!velocity) {
      for (index_t i = begin; i < end; ++i) w[i] -= gradient(g, w, i) * lr;
      return;
    }
    for (index_t i = begin; i < end; ++i) {
      const T step = gradient(g, w, i) * lr;
      const T v = velocity[i] * mu - step;
      velocity[i] = v;
      w[i] = nesterov ? (w[i] - step) + v * mu : w[i] + v;
    }
  });
}

template <class T>
void adam_update(T* w, T* g, T* m, T* v, index_t n, double beta1, double beta2, double epsilon, double c1, double c2,
                 double decay, const Penalty& penalty) {
  const T b1 = T(beta1), b2 = T(beta2), one_minus_b1 = T(1 - beta1), one_minus_b2 = T(1 - beta2);
  const T eps = T(epsilon), step = T(c1), correction = T(c2), keep = T(1 - decay);
  const PenalizedGradient<T> gradient(penalty);
  parallel_for(n, kUpdateGrain, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      const T gi = gradient(g, w, i);
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
void rmsprop_update(T* w, T* g, T* v, index_t n, double learning_rate, double rho, double epsilon,
                    const Penalty& penalty) {
  const T lr = T(learning_rate), r = T(rho), one_minus_r = T(1 - rho), eps = T(epsilon);
  const PenalizedGradient<T> gradient(penalty);
  parallel_for(n, kUpdateGrain, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      const T gi = gradient(g, w, i);
      const T vi = v[i] * r + (gi * gi) * one_minus_r;
      v[i] = vi;
      w[i] -= (gi / std::sqrt(vi + eps)) * lr;
    }
  });
}

template void sgd_update<float>(float*, float*, float*, index_t, double, double, bool, const Penalty&);
template void sgd_update<double>(double*, double*, double*, index_t, double, double, bool, const Penalty&);
template void adam_update<float>(float*, float*, float*, float*, index_t, double, double, double, double, double, double,
                                 const Penalty&);
template void adam_update<double>(double*, double*, double*, double*, index_t, double, double, double, double, double,
                                  double, const Penalty&);
template void rmsprop_update<float>(float*, float*, float*, index_t, double, double, double, const Penalty&);
template void rmsprop_update<double>(double*, double*, double*, index_t, double, double, double, const Penalty&);

}  // namespace fastnn
