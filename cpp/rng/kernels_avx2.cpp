// The AVX2 kernel set (kernels.hpp): Philox on eight blocks per step (philox_avx2.hpp), and
// dropout, uniform and normal fills consuming the draws straight from registers: no draw is
// stored, no float is made where an integer compare serves. Bitwise the scalar reference.
// Compiled with -mavx2 -mfma alone.
#include <immintrin.h>

#include <cstring>

#include "batches.hpp"
#include "detmath_avx2.hpp"
#include "kernels.hpp"
#include "philox_avx2.hpp"
#include "scalar.hpp"

namespace fastnn::avx2 {
namespace {

constexpr int kGroups = 2;                   // groups of four blocks per batch
constexpr unsigned kBlocks = 4 * kGroups;    // blocks per batch
constexpr index_t kWords = 4 * kBlocks;      // 32-bit draws per batch

void philox_blocks(const std::uint32_t* counters, const std::uint32_t key[2], index_t n, std::uint32_t* out) {
  const PhiloxKeys keys = philox_keys(key[0], key[1]);
  for (index_t i = 0; i < n; i += 4) {
    const index_t lanes = std::min<index_t>(4, n - i);
    std::int64_t words[4][4] = {};  // [word][lane], natural lane order here
    for (index_t lane = 0; lane < lanes; ++lane) {
      for (int w = 0; w < 4; ++w) words[w][lane] = counters[4 * (i + lane) + w];
    }
    __m256i c[4][1];
    for (int w = 0; w < 4; ++w) c[w][0] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(words[w]));
    philox_rounds<1>(c[0], c[1], c[2], c[3], keys);
    for (int w = 0; w < 4; ++w) _mm256_storeu_si256(reinterpret_cast<__m256i*>(words[w]), c[w][0]);
    for (index_t lane = 0; lane < lanes; ++lane) {
      for (int w = 0; w < 4; ++w) out[4 * (i + lane) + w] = std::uint32_t(words[w][lane]);
    }
  }
}

void random_words(std::uint64_t seed, std::uint64_t offset, index_t n, std::uint32_t* out) {
  const PhiloxKeys keys = philox_keys(seed);
  const auto batch = [&](std::uint64_t block, std::uint32_t* dst) {
    __m256i words[2 * kGroups];
    philox_words<kGroups>(keys, block, words);
    for (int v = 0; v < 2 * kGroups; ++v) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8 * v), words[v]);
  };
  for_each_batch<4, kBlocks>(
      offset, n, [&](std::uint64_t block, index_t i) { batch(block, out + i); },
      [&](std::uint64_t block, index_t skip, index_t take, index_t i) {
        std::uint32_t scratch[kWords];
        batch(block, scratch);
        std::memcpy(out + i, scratch + skip, sizeof(std::uint32_t) * take);
      });
}

// Dropped lanes of a word vector: draw < threshold, as a signed compare of both sides with the
// sign bit flipped (AVX2 has no unsigned compare).
inline __m256i dropped(__m256i words, __m256i threshold_flipped) {
  return _mm256_cmpgt_epi32(threshold_flipped, _mm256_xor_si256(words, _mm256_set1_epi32(INT32_MIN)));
}

// Runs body(block, x, y) on whole batches of x and y; an edge batch goes through scratch copies
// (zero-padded x: the padding's results are thrown away).
template <class T, class Body>
void dropout_batches(const T* x, T* y, index_t n, std::uint64_t offset, Body&& body) {
  for_each_batch<4, kBlocks>(
      offset, n, [&](std::uint64_t block, index_t i) { body(block, x + i, y + i); },
      [&](std::uint64_t block, index_t skip, index_t take, index_t i) {
        T x_scratch[kWords] = {}, y_scratch[kWords];
        std::memcpy(x_scratch + skip, x + i, sizeof(T) * take);
        body(block, x_scratch, y_scratch);
        std::memcpy(y + i, y_scratch + skip, sizeof(T) * take);
      });
}

void dropout_f32(const float* x, float* y, index_t n, const DropoutArgs<float>& args) {
  const PhiloxKeys keys = philox_keys(args.seed);
  const __m256i threshold = _mm256_set1_epi32(std::int32_t(args.threshold ^ 0x80000000u));
  const __m256 scale = _mm256_set1_ps(args.scale);
  dropout_batches(x, y, n, args.offset, [&](std::uint64_t block, const float* xs, float* ys) {
    __m256i words[2 * kGroups];
    philox_words<kGroups>(keys, block, words);
    for (int v = 0; v < 2 * kGroups; ++v) {
      const __m256 scaled = _mm256_mul_ps(_mm256_loadu_ps(xs + 8 * v), scale);
      const __m256 drop = _mm256_castsi256_ps(dropped(words[v], threshold));
      _mm256_storeu_ps(ys + 8 * v, _mm256_andnot_ps(drop, scaled));
    }
  });
}

void dropout_f64(const double* x, double* y, index_t n, const DropoutArgs<double>& args) {
  const PhiloxKeys keys = philox_keys(args.seed);
  const __m256i threshold = _mm256_set1_epi32(std::int32_t(args.threshold ^ 0x80000000u));
  const __m256d scale = _mm256_set1_pd(args.scale);
  dropout_batches(x, y, n, args.offset, [&](std::uint64_t block, const double* xs, double* ys) {
    __m256i words[2 * kGroups];
    philox_words<kGroups>(keys, block, words);
    for (int v = 0; v < 2 * kGroups; ++v) {
      const __m256i drop = dropped(words[v], threshold);  // 8 x 32 bits -> 2 x (4 x 64 bits)
      const __m256d drop_low = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(drop)));
      const __m256d drop_high = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(drop, 1)));
      const __m256d low = _mm256_mul_pd(_mm256_loadu_pd(xs + 8 * v), scale);
      const __m256d high = _mm256_mul_pd(_mm256_loadu_pd(xs + 8 * v + 4), scale);
      _mm256_storeu_pd(ys + 8 * v, _mm256_andnot_pd(drop_low, low));
      _mm256_storeu_pd(ys + 8 * v + 4, _mm256_andnot_pd(drop_high, high));
    }
  });
}

// Runs batch(block, dst) on whole batches of `blocks` blocks of out; an edge batch goes
// through scratch.
template <unsigned per_block, unsigned blocks = kBlocks, class T, class Batch>
void fill_batches(T* out, index_t n, std::uint64_t offset, Batch&& batch) {
  for_each_batch<per_block, blocks>(
      offset, n, [&](std::uint64_t block, index_t i) { batch(block, out + i); },
      [&](std::uint64_t block, index_t skip, index_t take, index_t i) {
        T scratch[per_block * blocks];
        batch(block, scratch);
        std::memcpy(out + i, scratch + skip, sizeof(T) * take);
      });
}

// low + span * u for four u in double, as scalar::uniform_value before its rounding to T.
inline __m256d affine(__m256d u, const UniformArgs& a) {
  return _mm256_add_pd(_mm256_set1_pd(a.low), _mm256_mul_pd(_mm256_set1_pd(a.span), u));
}

void uniform_f32(float* out, index_t n, const UniformArgs& a) {
  const PhiloxKeys keys = philox_keys(a.seed);
  const __m256 high = _mm256_set1_ps(float(a.high)), below_high = _mm256_set1_ps(float(a.below_high));
  const __m256d unit = _mm256_set1_pd(scalar::kTwoPow24Inv);
  fill_batches<4>(out, n, a.offset, [&](std::uint64_t block, float* dst) {
    __m256i words[2 * kGroups];
    philox_words<kGroups>(keys, block, words);
    for (int v = 0; v < 2 * kGroups; ++v) {
      const __m256i top = _mm256_srli_epi32(words[v], 8);  // < 2^24: exact as int32 -> double
      const __m256d u_low = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(top)), unit);
      const __m256d u_high = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(top, 1)), unit);
      const __m256 value = _mm256_set_m128(_mm256_cvtpd_ps(affine(u_high, a)), _mm256_cvtpd_ps(affine(u_low, a)));
      const __m256 below = _mm256_cmp_ps(value, high, _CMP_LT_OQ);
      _mm256_storeu_ps(dst + 8 * v, _mm256_blendv_ps(below_high, value, below));
    }
  });
}

// u = (joined >> 11) * 2^-53 in [0, 1), the 53-bit uniform of two joined words.
inline __m256d unit_from_joined(__m256i joined) {
  return _mm256_mul_pd(exact_double(_mm256_srli_epi64(joined, 11)), _mm256_set1_pd(scalar::kTwoPow53Inv));
}

void uniform_f64(double* out, index_t n, const UniformArgs& a) {
  const PhiloxKeys keys = philox_keys(a.seed);
  const __m256d high = _mm256_set1_pd(a.high), below_high = _mm256_set1_pd(a.below_high);
  fill_batches<2>(out, n, a.offset, [&](std::uint64_t block, double* dst) {
    __m256i low[kGroups], high_words[kGroups];
    philox_batch<kGroups>(keys, block, 0, low, high_words);
    for (int g = 0; g < kGroups; ++g) {
      __m256d value[2];  // slot 0 (words 0-1) and slot 1 (words 2-3) of the group's blocks
      value[0] = affine(unit_from_joined(low[g]), a);
      value[1] = affine(unit_from_joined(high_words[g]), a);
      for (__m256d& v : value) v = _mm256_blendv_pd(below_high, v, _mm256_cmp_pd(v, high, _CMP_LT_OQ));
      _mm256_storeu_pd(dst + 8 * g, _mm256_unpacklo_pd(value[0], value[1]));      // blocks +0, +1
      _mm256_storeu_pd(dst + 8 * g + 4, _mm256_unpackhi_pd(value[0], value[1]));  // blocks +2, +3
    }
  });
}

// The normals take kNormalGroups groups per batch: four independent chains through the long
// log and sin/cos series (detmath_avx2.hpp).
constexpr int kNormalGroups = 4;
constexpr unsigned kNormalBlocks = 4 * kNormalGroups;

// The 8 x kNormalGroups standard normals of blocks first .. first + kNormalBlocks - 1, in
// stream order (z[2g], z[2g + 1] from group g), as scalar::normal_pair, with rejected values
// redrawn when truncating.
inline void standard_normals(const PhiloxKeys& keys, std::uint64_t first, bool truncate, std::uint64_t seed,
                             __m256d (&z)[2 * kNormalGroups]) {
  __m256i low[kNormalGroups], high[kNormalGroups];
  philox_batch<kNormalGroups>(keys, first, 0, low, high);
  __m256d u1[kNormalGroups], u2[kNormalGroups], log_u1[kNormalGroups], sine[kNormalGroups], cosine[kNormalGroups];
  for (int g = 0; g < kNormalGroups; ++g) {
    const __m256i plus_one = _mm256_add_epi64(_mm256_srli_epi64(low[g], 11), _mm256_set1_epi64x(1));
    u1[g] = _mm256_mul_pd(exact_double(plus_one), _mm256_set1_pd(scalar::kTwoPow53Inv));  // (0, 1]
    u2[g] = unit_from_joined(high[g]);                                                     // [0, 1)
  }
  log_unit<kNormalGroups>(u1, log_u1);
  sincos_turns<kNormalGroups>(u2, sine, cosine);
  for (int g = 0; g < kNormalGroups; ++g) {
    const __m256d radius = _mm256_sqrt_pd(_mm256_mul_pd(_mm256_set1_pd(-2.0), log_u1[g]));
    const __m256d z0 = _mm256_mul_pd(radius, cosine[g]), z1 = _mm256_mul_pd(radius, sine[g]);
    z[2 * g] = _mm256_unpacklo_pd(z0, z1);      // positions of blocks +0 .. +1
    z[2 * g + 1] = _mm256_unpackhi_pd(z0, z1);  // blocks +2 .. +3
  }
  if (!truncate) return;
  const __m256d magnitude_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFF));
  const __m256d limit = _mm256_set1_pd(scalar::kTruncation);
  for (int v = 0; v < 2 * kNormalGroups; ++v) {
    const int rejected = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_and_pd(z[v], magnitude_mask), limit, _CMP_GT_OQ));
    if (rejected == 0) continue;  // 83% of vectors; a redraw is rare and scalar
    alignas(32) double values[4];
    _mm256_store_pd(values, z[v]);
    for (int lane = 0; lane < 4; ++lane) {
      if ((rejected >> lane) & 1) values[lane] = scalar::truncated_redraw(seed, 2 * first + 4 * v + lane, values[lane]);
    }
    z[v] = _mm256_load_pd(values);
  }
}

template <class T>
void normal(T* out, index_t n, const NormalArgs& a) {
  const PhiloxKeys keys = philox_keys(a.seed);
  const __m256d mean = _mm256_set1_pd(a.mean), stddev = _mm256_set1_pd(a.stddev);
  fill_batches<2, kNormalBlocks>(out, n, a.offset, [&](std::uint64_t block, T* dst) {
    __m256d z[2 * kNormalGroups];
    standard_normals(keys, block, a.truncate, a.seed, z);
    for (int v = 0; v < 2 * kNormalGroups; ++v) {
      const __m256d value = _mm256_add_pd(mean, _mm256_mul_pd(stddev, z[v]));
      if constexpr (sizeof(T) == 4) {
        _mm_storeu_ps(reinterpret_cast<float*>(dst) + 4 * v, _mm256_cvtpd_ps(value));
      } else {
        _mm256_storeu_pd(reinterpret_cast<double*>(dst) + 4 * v, value);
      }
    }
  });
}

}  // namespace

const RngKernels rng_kernels = {
    "avx2",
    philox_blocks,
    random_words,
    dropout_f32,
    dropout_f64,
    uniform_f32,
    uniform_f64,
    normal<float>,
    normal<double>,
};

}  // namespace fastnn::avx2
