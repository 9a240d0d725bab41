#include "fills.hpp"

#include <cmath>
#include <limits>

#include "../parallel.hpp"
#include "detmath.hpp"
#include "philox.hpp"

namespace fastnn {
namespace {

constexpr index_t kFillGrain = index_t{1} << 14;
constexpr double kTwoPow24Inv = 1.0 / 16777216.0;             // 2^-24
constexpr double kTwoPow53Inv = 1.0 / 9007199254740992.0;     // 2^-53
constexpr std::uint32_t kMaxTruncatedAttempts = 64;           // P(64 rejections) ~ 1e-86

std::uint64_t join_words(std::uint32_t low, std::uint32_t high) { return (std::uint64_t(high) << 32) | low; }

// The two standard normals of a block (Box-Muller; layout in fills.hpp).
void normal_pair(const PhiloxBlock& block, double* z0, double* z1) {
  const double u1 = double((join_words(block.word[0], block.word[1]) >> 11) + 1) * kTwoPow53Inv;  // (0, 1]
  const double u2 = double(join_words(block.word[2], block.word[3]) >> 11) * kTwoPow53Inv;        // [0, 1)
  const double radius = std::sqrt(-2.0 * detmath::log_unit(u1));
  double sine, cosine;
  detmath::sincos_turns(u2, &sine, &cosine);
  *z0 = radius * cosine;
  *z1 = radius * sine;
}

// Calls body(block, first, last, i) for each Philox block that covers positions
// [offset, offset + count), a block holding `per_block` consecutive positions: slots
// [first, last) of that block belong to out[i], out[i + 1], ...
template <class Body>
void for_each_block(index_t count, std::uint64_t offset, unsigned per_block, Body&& body) {
  parallel_for(count, kFillGrain, [&](index_t begin, index_t end) {
    std::uint64_t position = offset + std::uint64_t(begin);
    index_t i = begin;
    while (i < end) {
      const std::uint64_t block = position / per_block;
      const unsigned first = unsigned(position % per_block);
      const unsigned last = unsigned(std::min<std::uint64_t>(per_block, first + std::uint64_t(end - i)));
      body(block, first, last, i);  // slots [first, last) of the block go to out[i ...]
      i += last - first;
      position += last - first;
    }
  });
}

template <class T>
T below(T value, T high) {
  return value < high ? value : std::nextafter(high, -std::numeric_limits<T>::infinity());
}

}  // namespace

template <>
void fill_uniform<float>(float* out, index_t count, double low, double high, std::uint64_t seed,
                         std::uint64_t offset) {
  const float low_f = float(low), high_f = float(high);
  const double base = low_f, span = double(high_f) - double(low_f);
  for_each_block(count, offset, 4, [&](std::uint64_t b, unsigned first, unsigned last, index_t i) {
    const PhiloxBlock block = philox_block(seed, b);
    for (unsigned slot = first; slot < last; ++slot, ++i) {
      const double u = double(block.word[slot] >> 8) * kTwoPow24Inv;
      out[i] = below(float(base + span * u), high_f);
    }
  });
}

template <>
void fill_uniform<double>(double* out, index_t count, double low, double high, std::uint64_t seed,
                          std::uint64_t offset) {
  const double span = high - low;
  for_each_block(count, offset, 2, [&](std::uint64_t b, unsigned first, unsigned last, index_t i) {
    const PhiloxBlock block = philox_block(seed, b);
    for (unsigned slot = first; slot < last; ++slot, ++i) {
      const double u = double(join_words(block.word[2 * slot], block.word[2 * slot + 1]) >> 11) * kTwoPow53Inv;
      out[i] = below(low + span * u, high);
    }
  });
}

template <class T>
void fill_normal(T* out, index_t count, double mean, double stddev, std::uint64_t seed, std::uint64_t offset) {
  for_each_block(count, offset, 2, [&](std::uint64_t b, unsigned first, unsigned last, index_t i) {
    double z[2];
    normal_pair(philox_block(seed, b), &z[0], &z[1]);
    for (unsigned slot = first; slot < last; ++slot, ++i) out[i] = T(mean + stddev * z[slot]);
  });
}

template <class T>
void fill_truncated_normal(T* out, index_t count, double mean, double stddev, std::uint64_t seed,
                           std::uint64_t offset) {
  for_each_block(count, offset, 2, [&](std::uint64_t b, unsigned first, unsigned last, index_t i) {
    double z[2];
    normal_pair(philox_block(seed, b), &z[0], &z[1]);
    for (unsigned slot = first; slot < last; ++slot, ++i) {
      double value = z[slot];
      // Redraw this slot alone from attempts 1, 2, ...; the cap is never reached in practice
      // and only bounds the loop (the last draw is then clipped to the interval).
      for (std::uint32_t attempt = 1; std::fabs(value) > 2.0; ++attempt) {
        if (attempt == kMaxTruncatedAttempts) {
          value = std::fmin(2.0, std::fmax(-2.0, value));
          break;
        }
        double redraw[2];
        normal_pair(philox_block(seed, b, attempt), &redraw[0], &redraw[1]);
        value = redraw[slot];
      }
      out[i] = T(mean + stddev * value);
    }
  });
}

template void fill_normal<float>(float*, index_t, double, double, std::uint64_t, std::uint64_t);
template void fill_normal<double>(double*, index_t, double, double, std::uint64_t, std::uint64_t);
template void fill_truncated_normal<float>(float*, index_t, double, double, std::uint64_t, std::uint64_t);
template void fill_truncated_normal<double>(double*, index_t, double, double, std::uint64_t, std::uint64_t);

}  // namespace fastnn
