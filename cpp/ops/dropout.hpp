// Inverted dropout on the Philox stream (layout in rng/philox.hpp): the element at position p
// is dropped when its 32-bit draw is below round(rate * 2^32), and kept elements are scaled
// by 1 / (1 - rate). The mask is never stored: backward regenerates it from (seed, offset).
#pragma once

#include <cstdint>

#include "../common.hpp"

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

// y = mask * x / (1 - rate) elementwise over n values (y may equal x). This is also dropout's
// backward: the map is linear and diagonal, so dx = dropout(dy) with the same parameters.
template <class T>
void dropout(const T* x, T* y, index_t n, const DropoutParams& params);

// The masking step for one chunk whose draws are already in `words`:
// y[j] = words[j] >= threshold ? x[j] * scale : +0 (y may equal x).
template <class T>
void apply_dropout(const std::uint32_t* words, const T* x, T* y, index_t length, std::uint32_t threshold, T scale);

// keep[i] = 1 when element i is kept, else 0.
void dropout_mask(std::uint8_t* keep, index_t n, const DropoutParams& params);

}  // namespace fastnn
