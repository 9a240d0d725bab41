// Max and average pooling over 1, 2 or 3 spatial axes of a channels-last (batch, *spatial, channels)
// array. One kernel serves every rank: 1-D and 2-D inputs are 3-D ones with leading spatial extents
// of 1 (and pool size, stride 1 there).
//
// Output sizes and padding follow Keras/TensorFlow: "valid" gives out = (in - pool) / stride + 1
// (in >= pool); "same" gives out = ceil(in / stride) with pad_total = max((out - 1) * stride + pool - in, 0)
// split as pad_before = pad_total / 2 (the rest after). Padded positions never take part: max pooling
// ignores them and average pooling divides by the number of valid elements in the window, as TensorFlow.
//
// Max pooling returns, per output element, the arg-max as the position inside its window,
// ((kd * pool_h) + kh) * pool_w + kw; ties go to the first in that order, and a NaN wins (the max of
// a window holding a NaN is NaN, as np.max). Keeping this int32 index costs a quarter of the input's
// bytes for 2x2 float32 pooling; recomputing it in backward would re-read the whole input instead.
//
// Backward gathers: every input element sums the gradients of the outputs whose windows hold it, in
// output order. Each element is written by one thread and the order is fixed, so results are bitwise
// identical for any thread count, overlapping windows (stride < pool) included.
#pragma once

#include <cstdint>
#include <vector>

#include "../common.hpp"

namespace fastnn {

struct PoolGeometry {
  index_t batch = 0, channels = 0;
  // Per spatial axis (d, h, w).
  index_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, pool[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0};

  // spatial, pool and strides have one entry per spatial axis (1 to 3); throws std::invalid_argument
  // for sizes or strides < 1 and for a "valid" window larger than the input.
  static PoolGeometry make(index_t batch, const std::vector<index_t>& spatial, index_t channels,
                           const std::vector<index_t>& pool, const std::vector<index_t>& strides, bool same_padding);

  index_t input_rows() const { return batch * in[0] * in[1] * in[2]; }    // rows of `channels` values
  index_t output_rows() const { return batch * out[0] * out[1] * out[2]; }
};

// argmax: null when not wanted (inference).
template <class T>
void max_pool(const T* x, const PoolGeometry& geometry, T* y, std::int32_t* argmax);

template <class T>
void max_pool_backward(const T* dy, const std::int32_t* argmax, const PoolGeometry& geometry, T* dx);

template <class T>
void average_pool(const T* x, const PoolGeometry& geometry, T* y);

template <class T>
void average_pool_backward(const T* dy, const PoolGeometry& geometry, T* dx);

}  // namespace fastnn
