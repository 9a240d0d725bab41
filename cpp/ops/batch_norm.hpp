// Batch normalization over the rows of a (rows, features) array: one feature per column, so a
// channels-last (batch, *spatial, channels) tensor is normalized per channel as it lies.
//
//   training:  mean_c = Σ_r x[r, c] / rows,  variance_c = Σ_r (x[r, c] - mean_c)² / rows  (biased,
//              as Keras: it serves both the normalization and the moving variance)
//   y[r, c] = act(gamma_c * (x[r, c] - mean_c) / sqrt(variance_c + epsilon) + beta_c)
//
// act is a following activation layer's, fused into the pass (identity when there is none).
//
// Determinism and stability: the rows are cut into fixed chunks (their size depends on the shape
// alone, never on the thread count). Each chunk's per-feature mean and sum of squared deviations
// come from a two-pass over the chunk while it is in cache (no E[x²] − E[x]² cancellation); the
// chunks are merged in chunk order with Chan et al.'s pairwise update. Sums within a chunk (at
// most 256 rows) run in the data's type, the merge in double; every output is bitwise identical
// for any thread count.
#pragma once

#include "../common.hpp"
#include "activation.hpp"

namespace fastnn {

// Batch statistics and y in one call; mean and variance (features,) receive the batch statistics.
// rows >= 1. y may equal x. alpha: leaky_relu's slope.
template <class T>
void batch_norm_forward_training(const T* x, index_t rows, index_t features, const T* gamma, const T* beta,
                                 double epsilon, Activation activation, T alpha, T* y, T* mean, T* variance);

// y = act(gamma * (x - mean) / sqrt(variance + epsilon) + beta) with given statistics (inference).
// y may equal x.
template <class T>
void batch_norm_forward_inference(const T* x, index_t rows, index_t features, const T* gamma, const T* beta,
                                  const T* mean, const T* variance, double epsilon, Activation activation, T alpha,
                                  T* y);

// Gradients, with g = dy ⊙ act'(y) (y: the forward's output; may be null for the identity),
// x̂ = (x - mean) / sqrt(variance + epsilon) and sums over the rows:
//   dbeta = Σ g,  dgamma = Σ g x̂,
//   batch_statistics:  dx = gamma / sqrt(variance + epsilon) * (g - dbeta / rows - x̂ dgamma / rows)
//   otherwise (the statistics were constants):  dx = gamma / sqrt(variance + epsilon) * g
// dx may be null (not computed) and may equal dy.
template <class T>
void batch_norm_backward(const T* dy, const T* x, const T* y, index_t rows, index_t features, const T* gamma,
                         const T* mean, const T* variance, double epsilon, bool batch_statistics, Activation activation,
                         T alpha, T* dx, T* dgamma, T* dbeta);

}  // namespace fastnn
