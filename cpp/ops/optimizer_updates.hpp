// In-place optimizer steps, one parallel pass over a parameter each. Every element is updated
// independently, so results do not depend on the thread count; the operations are the same,
// in the same order, as the formulas documented in fastnn/optimizers.py.
//
// Each step may also fold in an L1/L2 penalty: it steps with g + l1 sign(w) + 2 l2 w (computed
// as fastnn.regularizers.L1L2.gradient does, so the values are the same bits) and writes that
// gradient back into g, in the same pass; with l1 = l2 = 0, g is only read.
#pragma once

#include "../common.hpp"

namespace fastnn {

struct Penalty {
  double l1 = 0.0, l2 = 0.0;
  bool any() const { return l1 != 0.0 || l2 != 0.0; }
};

// w -= lr g (velocity null), or v = momentum v - lr g; w += v (Nesterov: w += momentum v - lr g).
template <class T>
void sgd_update(T* w, T* g, T* velocity, index_t n, double learning_rate, double momentum, bool nesterov,
                const Penalty& penalty);

// Adam (Kingma & Ba, Algorithm 1) with bias corrections c1 = lr / (1 - beta1^t) and
// c2 = 1 / sqrt(1 - beta2^t); decoupled weight decay w *= 1 - decay first (AdamW; 0 for Adam):
// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2; w -= c1 m / (c2 sqrt(v) + eps).
template <class T>
void adam_update(T* w, T* g, T* m, T* v, index_t n, double beta1, double beta2, double epsilon, double c1, double c2,
                 double decay, const Penalty& penalty);

// RMSprop as Keras: v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps).
template <class T>
void rmsprop_update(T* w, T* g, T* v, index_t n, double learning_rate, double rho, double epsilon,
                    const Penalty& penalty);

}  // namespace fastnn
