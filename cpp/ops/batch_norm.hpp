// Batch normalization over the rows of a (rows, features) array: one feature per column, so a
// channels-last (batch, *spatial, channels) tensor is normalized per channel as it lies.
//
//   training:  mean_c = Σ_r x[r, c] / rows,  variance_c = Σ_r (x[r, c] - mean_c)² / rows  (biased,
//              as Keras: it serves both the normalization and the moving variance)
//   y[r, c] = gamma_c * (x[r, c] - mean_c) / sqrt(variance_c + epsilon) + beta_c
//
// Determinism and stability: the rows are cut into fixed chunks (their size depends on the shape
// alone, never on the thread count). Each chunk's per-feature mean and sum of squared deviations
// come from a two-pass over the chunk while it is in cache (no E[x²] − E[x]² cancellation); the
// chunks are merged in chunk order with Chan et al.'s pairwise update. Sums within a chunk (at
// most 256 rows) run in the data's type, the merge in double; every output is bitwise identical
// for any thread count.
#pragma once

#include "../common.hpp"

namespace fastnn {

// Batch statistics and y in one call; mean and variance (features,) receive the batch statistics.
// rows >= 1. y may equal x.
template <class T>
void batch_norm_forward_training(const T* x, index_t rows, index_t features, const T* gamma, const T* beta,
                                 double epsilon, T* y, T* mean, T* variance);

// y = gamma * (x - mean) / sqrt(variance + epsilon) + beta with given statistics (inference). y may equal x.
template <class T>
void batch_norm_forward_inference(const T* x, index_t rows, index_t features, const T* gamma, const T* beta,
                                  const T* mean, const T* variance, double epsilon, T* y);

// Gradients, with x̂ = (x - mean) / sqrt(variance + epsilon) and sums over the rows:
//   dbeta = Σ dy,  dgamma = Σ dy x̂,
//   batch_statistics:  dx = gamma / sqrt(variance + epsilon) * (dy - dbeta / rows - x̂ dgamma / rows)
//   otherwise (the statistics were constants):  dx = gamma / sqrt(variance + epsilon) * dy
// dx may be null (not computed) and may equal dy.
template <class T>
void batch_norm_backward(const T* dy, const T* x, index_t rows, index_t features, const T* gamma, const T* mean,
                         const T* variance, double epsilon, bool batch_statistics, T* dx, T* dgamma, T* dbeta);

}  // namespace fastnn
