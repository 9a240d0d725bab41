// Per-image affine resampling of channels-last image batches with bilinear interpolation: the
// one kernel behind every geometric augmentation (flip, rotation, zoom, translation, and any
// composition of them in a single pass).
#pragma once

#include "../common.hpp"

namespace fastnn {

// Where a sample point outside the image reads from (scipy.ndimage / Keras names):
//   reflect  (d c b a | a b c d | d c b a)   constant (k k k k | a b c d | k k k k)
//   nearest  (a a a a | a b c d | d d d d)   wrap     (a b c d | a b c d | a b c d)
enum class FillMode { reflect, constant, nearest, wrap };

// out[n, i, j, :] = x[n] sampled bilinearly at (row, col) = (m[0] i + m[1] j + m[2],
// m[3] i + m[4] j + m[5]), m = matrices + 6 n. Each of the four neighbours outside the image
// reads through `mode` (constant: `fill`). A coordinate within 1e-9 of an integer is taken as
// that integer, so flips and quarter turns copy pixels exactly.
template <class T>
void affine_resample(const T* x, T* out, index_t batch, index_t height, index_t width, index_t channels,
                     const double* matrices, FillMode mode, T fill);

// The adjoint of affine_resample with respect to x: every output pixel's dy, times each
// neighbour's bilinear weight, is added to dx where that neighbour read from (a constant-fill
// neighbour read no pixel of x and adds nothing). Threads own whole images and add in pixel
// order, so dx is bitwise identical for any thread count. dx must not overlap dy.
template <class T>
void affine_resample_backward(const T* dy, T* dx, index_t batch, index_t height, index_t width, index_t channels,
                              const double* matrices, FillMode mode);

}  // namespace fastnn
