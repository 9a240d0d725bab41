// In-place optimizer steps, one parallel pass over a parameter each. Every element is updated
// independently, so results do not depend on the thread count; the operations are the same,
// in the same order, as the formulas documented in fastnn/optimizers.py.
#pragma once

#include "../common.hpp"

namespace fastnn {

// w -= lr g (velocity null), or v = momentum v - lr g; w += v (Nesterov: w += momentum v - lr g).
template <class T>
void sgd_update(T* w, const T* g, T* velocity, index_t n, double learning_rate, double momentum, bool nesterov);

// Adam (Kingma & Ba, Algorithm 1) with bias corrections c1 = lr / (1 - beta1^t) and
// c2 = 1 / sqrt(1 - beta2^t); decoupled weight decay w *= 1 - decay first (AdamW; 0 for Adam):
// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2; w -= c1 m / (c2 sqrt(v) + eps).
template <class T>
void adam_update(T* w, const T* g, T* m, T* v, index_t n, double beta1, double beta2, double epsilon, double c1,
                 double c2, double decay);

// RMSprop as Keras: v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps).
template <class T>
void rmsprop_update(T* w, const T* g, T* v, index_t n, double learning_rate, double rho, double epsilon);

}  // namespace fastnn
