// Parallel random fills on the Philox stream (layout in philox.hpp). Every value is a pure
// function of (seed, offset + index): bitwise identical for any thread count, on any machine
// and on every ISA path (the kernels of rng/kernels.hpp; the scalar reference in scalar.hpp).
//
//   uniform   float32: one word per value (4 per block), the top 24 bits -> u in [0, 1)
//             float64: two words per value (2 per block), the top 53 bits -> u in [0, 1)
//             value = low + (high - low) * u, rounded, and kept strictly below high
//   normal    two values per block (both dtypes): Box-Muller on two 53-bit uniforms,
//             u1 in (0, 1] from words 0-1 and u2 in [0, 1) from words 2-3:
//             z0 = sqrt(-2 ln u1) cos(2 pi u2) (even positions), z1 = ... sin(2 pi u2) (odd)
//   truncated normal  as normal, but a value with |z| > 2 is redrawn from the same position
//             with attempt 1, 2, ... (counter word 2); accepted with probability 0.9545.
//   All arithmetic is in double (log and sin/cos from detmath.hpp), rounded once to T.
#pragma once

#include <cstdint>

#include "../common.hpp"

namespace fastnn {

template <class T>
void fill_uniform(T* out, index_t count, double low, double high, std::uint64_t seed, std::uint64_t offset);

template <class T>
void fill_normal(T* out, index_t count, double mean, double stddev, std::uint64_t seed, std::uint64_t offset);

// Values beyond two standard deviations are redrawn (as TensorFlow/Keras's truncated_normal).
template <class T>
void fill_truncated_normal(T* out, index_t count, double mean, double stddev, std::uint64_t seed,
                           std::uint64_t offset);

}  // namespace fastnn
