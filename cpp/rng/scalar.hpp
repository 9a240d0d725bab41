// The scalar reference of every random value: what each kernel set computes (kernels.hpp), written
// one value at a time. The generic set is built from these; the SIMD sets use them for the rare
// values they do not vectorize (truncated-normal redraws) and are tested bit for bit against them.
//
// Header-only and `static` so every translation unit (per-ISA ones included) has its own copy.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "../common.hpp"
#include "detmath.hpp"
#include "philox.hpp"

namespace fastnn::scalar {

constexpr double kTwoPow24Inv = 1.0 / 16777216.0;          // 2^-24
constexpr double kTwoPow53Inv = 1.0 / 9007199254740992.0;  // 2^-53
constexpr std::uint32_t kMaxTruncatedAttempts = 64;        // P(64 rejections) ~ 1e-86
constexpr double kTruncation = 2.0;                        // |z| <= 2 is kept

static inline std::uint64_t join_words(std::uint32_t low, std::uint32_t high) {
  return (std::uint64_t(high) << 32) | low;
}

// out[i] = the 32-bit draw at position offset + i of stream `seed` (one word per position).
static inline void random_words(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out) {
  if (count <= 0) return;
  std::uint64_t block = offset >> 2;
  index_t i = 0;
  // A partial first block when the offset is not a multiple of four.
  if (const unsigned first = unsigned(offset & 3); first != 0) {
    const PhiloxBlock head = philox_block(seed, block++);
    for (unsigned word = first; word < 4 && i < count; ++word) out[i++] = head.word[word];
  }
  for (; i + 4 <= count; i += 4) {
    const PhiloxBlock full = philox_block(seed, block++);
    out[i] = full.word[0];
    out[i + 1] = full.word[1];
    out[i + 2] = full.word[2];
    out[i + 3] = full.word[3];
  }
  if (i < count) {
    const PhiloxBlock tail = philox_block(seed, block);
    for (unsigned word = 0; i < count; ++word) out[i++] = tail.word[word];
  }
}

// Uniform on [0, 1) from the top 24 bits of one word (float32) or 53 bits of two (float64).
static inline double unit_from_word(std::uint32_t word) { return double(word >> 8) * kTwoPow24Inv; }
static inline double unit_from_words(std::uint32_t low, std::uint32_t high) {
  return double(join_words(low, high) >> 11) * kTwoPow53Inv;
}

// low + span * u rounded to T, kept strictly below high.
template <class T>
static inline T uniform_value(double u, double low, double span, double high, double below_high) {
  const T value = T(low + span * u);
  return value < T(high) ? value : T(below_high);
}

// The two standard normals of a block (Box-Muller; layout in fills.hpp): u1 in (0, 1] from
// words 0-1, u2 in [0, 1) from words 2-3; z0 = r cos(2 pi u2), z1 = r sin(2 pi u2).
static inline void normal_pair(const PhiloxBlock& block, double* z0, double* z1) {
  const double u1 = double((join_words(block.word[0], block.word[1]) >> 11) + 1) * kTwoPow53Inv;  // (0, 1]
  const double u2 = unit_from_words(block.word[2], block.word[3]);                                  // [0, 1)
  const double radius = std::sqrt(-2.0 * detmath::log_unit(u1));
  double sine, cosine;
  detmath::sincos_turns(u2, &sine, &cosine);
  *z0 = radius * cosine;
  *z1 = radius * sine;
}

// The truncated normal at `position` whose attempt-0 draw z was rejected (|z| > 2): redrawn from
// attempts 1, 2, ... of its own block and slot. The cap is never reached in practice and only
// bounds the loop (the last draw is then clipped to the interval).
static inline double truncated_redraw(std::uint64_t seed, std::uint64_t position, double z) {
  for (std::uint32_t attempt = 1; std::fabs(z) > kTruncation; ++attempt) {
    if (attempt == kMaxTruncatedAttempts) return std::fmin(kTruncation, std::fmax(-kTruncation, z));
    double redraw[2];
    normal_pair(philox_block(seed, position / 2, attempt), &redraw[0], &redraw[1]);
    z = redraw[position % 2];
  }
  return z;
}

// Dropout of one element: x * scale when its draw is at least `threshold`, else +0. Masking the
// bits rather than selecting lets compilers vectorize loops of it, and a dropped element becomes
// +0 even when x is NaN or infinite.
template <class T, class Bits>
static inline T dropout_value(std::uint32_t word, T x, std::uint32_t threshold, T scale) {
  const T scaled = x * scale;
  Bits bits;
  std::memcpy(&bits, &scaled, sizeof bits);
  bits &= Bits(0) - Bits(word >= threshold);
  T y;
  std::memcpy(&y, &bits, sizeof bits);
  return y;
}

}  // namespace fastnn::scalar
