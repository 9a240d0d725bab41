#include "fills.hpp"

#include <algorithm>
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

// The normal pairs of kNormalBatch consecutive blocks: z[2j], z[2j + 1] come from block first + j.
// Each step runs over the whole batch, so the long dependency chains of the log and sin/cos
// series of different blocks overlap instead of running one after another.
constexpr int kNormalBatch = 8;

void normal_batch(std::uint64_t seed, std::uint64_t first, double* z) {
  double u1[kNormalBatch], u2[kNormalBatch], radius[kNormalBatch], sine[kNormalBatch], cosine[kNormalBatch];
  for (int j = 0; j < kNormalBatch; ++j) {
    const PhiloxBlock block = philox_block(seed, first + j);
    u1[j] = double((join_words(block.word[0], block.word[1]) >> 11) + 1) * kTwoPow53Inv;
    u2[j] = double(join_words(block.word[2], block.word[3]) >> 11) * kTwoPow53Inv;
  }
  for (int j = 0; j < kNormalBatch; ++j) radius[j] = std::sqrt(-2.0 * detmath::log_unit(u1[j]));
  for (int j = 0; j < kNormalBatch; ++j) detmath::sincos_turns(u2[j], &sine[j], &cosine[j]);
  for (int j = 0; j < kNormalBatch; ++j) {
    z[2 * j] = radius[j] * cosine[j];
    z[2 * j + 1] = radius[j] * sine[j];
  }
}

// Calls body(z, i, take) over [0, count) in parallel, where z[0 : take] are the standard normals
// of positions offset + i ... offset + i + take - 1.
template <class Body>
void for_each_normal_batch(index_t count, std::uint64_t offset, std::uint64_t seed, Body&& body) {
  parallel_for(count, kFillGrain, [&](index_t begin, index_t end) {
    double z[2 * kNormalBatch];
    for (index_t i = begin; i < end;) {
      const std::uint64_t position = offset + std::uint64_t(i);
      normal_batch(seed, position / 2, z);
      const index_t skip = index_t(position % 2);
      const index_t take = std::min<index_t>(2 * kNormalBatch - skip, end - i);
      body(z + skip, i, take);
      i += take;
    }
  });
}

// Calls body(block, first, last, i) for each Philox block that covers positions
// [offset, offset + count), a block holding `per_block` consecutive positions: slots
// [first, last) of that block belong to out[i], out[i + 1], ...
template <unsigned per_block, class Body>
void for_each_block(index_t count, std::uint64_t offset, Body&& body) {
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
  for_each_block<4>(count, offset, [&](std::uint64_t b, unsigned first, unsigned last, index_t i) {
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
  for_each_block<2>(count, offset, [&](std::uint64_t b, unsigned first, unsigned last, index_t i) {
    const PhiloxBlock block = philox_block(seed, b);
    for (unsigned slot = first; slot < last; ++slot, ++i) {
      const double u = double(join_words(block.word[2 * slot], block.word[2 * slot + 1]) >> 11) * kTwoPow53Inv;
      out[i] = below(low + span * u, high);
    }
  });
}

template <class T>
void fill_normal(T* out, index_t count, double mean, double stddev, std::uint64_t seed, std::uint64_t offset) {
  for_each_normal_batch(count, offset, seed, [&](const double* z, index_t i, index_t take) {
    for (index_t t = 0; t < take; ++t) out[i + t] = T(mean + stddev * z[t]);
  });
}

template <class T>
void fill_truncated_normal(T* out, index_t count, double mean, double stddev, std::uint64_t seed,
                           std::uint64_t offset) {
  for_each_normal_batch(count, offset, seed, [&](const double* z, index_t i, index_t take) {
    for (index_t t = 0; t < take; ++t) {
      double value = z[t];
      // Redraw this position alone from attempts 1, 2, ...; the cap is never reached in practice
      // and only bounds the loop (the last draw is then clipped to the interval).
      const std::uint64_t position = offset + std::uint64_t(i + t);
      for (std::uint32_t attempt = 1; std::fabs(value) > 2.0; ++attempt) {
        if (attempt == kMaxTruncatedAttempts) {
          value = std::fmin(2.0, std::fmax(-2.0, value));
          break;
        }
        double redraw[2];
        normal_pair(philox_block(seed, position / 2, attempt), &redraw[0], &redraw[1]);
        value = redraw[position % 2];
      }
      out[i + t] = T(mean + stddev * value);
    }
  });
}

template void fill_normal<float>(float*, index_t, double, double, std::uint64_t, std::uint64_t);
template void fill_normal<double>(double*, index_t, double, double, std::uint64_t, std::uint64_t);
template void fill_truncated_normal<float>(float*, index_t, double, double, std::uint64_t, std::uint64_t);
template void fill_truncated_normal<double>(double*, index_t, double, double, std::uint64_t, std::uint64_t);

}  // namespace fastnn
