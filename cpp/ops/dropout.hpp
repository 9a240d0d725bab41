// Inverted dropout on the Philox stream (layout in rng/philox.hpp): the element at position p
// is dropped when its 32-bit draw is below round(rate * 2^32), and kept elements are scaled
// by 1 / (1 - rate). The mask is never stored: backward regenerates it from (seed, offset).
#pragma once

#include <cstdint>
#include <cstring>

#include "../common.hpp"
#include "../rng/scalar.hpp"

namespace fastnn {

struct DropoutParams {
  std::uint32_t threshold = 0;  // draws below this are dropped; 0 disables dropout
  double keep_scale = 1.0;      // 1 / (1 - rate)
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;     // position of element 0

  // rate in [0, 1); throws std::invalid_argument otherwise.
  static DropoutParams make(double rate, std::uint64_t seed, std::uint64_t offset);
  bool enabled() const { return threshold != 0; }
};

// y = mask * x / (1 - rate) elementwise over n values (y may equal x), in one streaming pass
// through the kernel set in use (rng/kernels.hpp): each draw is made, compared and applied in
// registers, so nothing is stored but y. This is also dropout's backward: the map is linear and
// diagonal, so dx = dropout(dy) with the same parameters, and the mask costs 0 bytes.
template <class T>
void dropout(const T* x, T* y, index_t n, const DropoutParams& params);

template <class T>
struct SameSizeBits;
template <>
struct SameSizeBits<float> {
  using type = std::uint32_t;
};
template <>
struct SameSizeBits<double> {
  using type = std::uint64_t;
};

// The masking step for one chunk whose draws are already in `words`:
// y[j] = words[j] >= threshold ? x[j] * scale : +0 (y may equal x), scalar::dropout_value on
// each element (GCC vectorizes the loop). Inline: it runs on segments as short as one row of a
// GEMM tile.
template <class T>
inline void apply_dropout(const std::uint32_t* words, const T* x, T* y, index_t length, std::uint32_t threshold,
                          T scale) {
  for (index_t j = 0; j < length; ++j) {
    y[j] = scalar::dropout_value<T, typename SameSizeBits<T>::type>(words[j], x[j], threshold, scale);
  }
}

// keep[i] = 1 when element i is kept, else 0.
void dropout_mask(std::uint8_t* keep, index_t n, const DropoutParams& params);

}  // namespace fastnn
