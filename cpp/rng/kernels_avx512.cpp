// The AVX-512 kernel set (kernels.hpp): Philox on sixteen blocks per step (philox_avx512.hpp),
// and dropout, uniform and normal fills consuming the draws straight from registers, as
// kernels_avx2.cpp does, with mask registers for the compares. Bitwise the scalar reference.
// Compiled with the AVX-512 F/DQ/BW/VL flags alone.

// GCC 12 warns that its own intrinsics read an uninitialized value (_mm512_undefined_* as the
// pass-through of unmasked forms; GCC bug 105593, fixed in GCC 13): silence that false positive.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstring>

#include "batches.hpp"
#include "detmath_avx512.hpp"
#include "kernels.hpp"
#include "philox_avx512.hpp"
#include "scalar.hpp"

namespace fastnn::avx512 {
namespace {

constexpr int kGroups = 2;                   // groups of eight blocks per batch
constexpr unsigned kBlocks = 8 * kGroups;    // blocks per batch
constexpr index_t kWords = 4 * kBlocks;      // 32-bit draws per batch

void philox_blocks(const std::uint32_t* counters, const std::uint32_t key[2], index_t n, std::uint32_t* out) {
  const PhiloxKeys keys = philox_keys(key[0], key[1]);
  for (index_t i = 0; i < n; i += 8) {
    const index_t lanes = std::min<index_t>(8, n - i);
    std::int64_t words[4][8] = {};  // [word][lane], natural lane order here
    for (index_t lane = 0; lane < lanes; ++lane) {
      for (int w = 0; w < 4; ++w) words[w][lane] = counters[4 * (i + lane) + w];
    }
    __m512i c[4][1];
    for (int w = 0; w < 4; ++w) c[w][0] = _mm512_loadu_si512(words[w]);
    philox_rounds<1>(c[0], c[1], c[2], c[3], keys);
    for (int w = 0; w < 4; ++w) _mm512_storeu_si512(words[w], c[w][0]);
    for (index_t lane = 0; lane < lanes; ++lane) {
      for (int w = 0; w < 4; ++w) out[4 * (i + lane) + w] = std::uint32_t(words[w][lane]);
    }
  }
}

void random_words(std::uint64_t seed, std::uint64_t offset, index_t n, std::uint32_t* out) {
  const PhiloxKeys keys = philox_keys(seed);
  const auto batch = [&](std::uint64_t block, std::uint32_t* dst) {
    __m512i words[2 * kGroups];
    philox_words<kGroups>(keys, block, words);
    for (int v = 0; v < 2 * kGroups; ++v) _mm512_storeu_si512(dst + 16 * v, words[v]);
  };
  for_each_batch<4, kBlocks>(
      offset, n, [&](std::uint64_t block, index_t i) { batch(block, out + i); },
      [&](std::uint64_t block, index_t skip, index_t take, index_t i) {
        std::uint32_t scratch[kWords];
        batch(block, scratch);
        std::memcpy(out + i, scratch + skip, sizeof(std::uint32_t) * take);
      });
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

// Kept lanes (draw >= threshold) multiply, dropped ones become +0 (maskz), NaN and inf included.
void dropout_f32(const float* x, float* y, index_t n, const DropoutArgs<float>& args) {
  const PhiloxKeys keys = philox_keys(args.seed);
  const __m512i threshold = _mm512_set1_epi32(std::int32_t(args.threshold));
  const __m512 scale = _mm512_set1_ps(args.scale);
  dropout_batches(x, y, n, args.offset, [&](std::uint64_t block, const float* xs, float* ys) {
    __m512i words[2 * kGroups];
    philox_words<kGroups>(keys, block, words);
    for (int v = 0; v < 2 * kGroups; ++v) {
      const __mmask16 keep = _mm512_cmpge_epu32_mask(words[v], threshold);
      _mm512_storeu_ps(ys + 16 * v, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(xs + 16 * v), scale));
    }
  });
}

void dropout_f64(const double* x, double* y, index_t n, const DropoutArgs<double>& args) {
  const PhiloxKeys keys = philox_keys(args.seed);
  const __m512i threshold = _mm512_set1_epi32(std::int32_t(args.threshold));
  const __m512d scale = _mm512_set1_pd(args.scale);
  dropout_batches(x, y, n, args.offset, [&](std::uint64_t block, const double* xs, double* ys) {
    __m512i words[2 * kGroups];
    philox_words<kGroups>(keys, block, words);
    for (int v = 0; v < 2 * kGroups; ++v) {
      const __mmask16 keep = _mm512_cmpge_epu32_mask(words[v], threshold);
      _mm512_storeu_pd(ys + 16 * v, _mm512_maskz_mul_pd(__mmask8(keep), _mm512_loadu_pd(xs + 16 * v), scale));
      _mm512_storeu_pd(ys + 16 * v + 8, _mm512_maskz_mul_pd(__mmask8(keep >> 8), _mm512_loadu_pd(xs + 16 * v + 8), scale));
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

// low + span * u for eight u in double, as scalar::uniform_value before its rounding to T.
inline __m512d affine(__m512d u, const UniformArgs& a) {
  return _mm512_add_pd(_mm512_set1_pd(a.low), _mm512_mul_pd(_mm512_set1_pd(a.span), u));
}

void uniform_f32(float* out, index_t n, const UniformArgs& a) {
  const PhiloxKeys keys = philox_keys(a.seed);
  const __m512 high = _mm512_set1_ps(float(a.high)), below_high = _mm512_set1_ps(float(a.below_high));
  const __m512d unit = _mm512_set1_pd(scalar::kTwoPow24Inv);
  fill_batches<4>(out, n, a.offset, [&](std::uint64_t block, float* dst) {
    __m512i words[2 * kGroups];
    philox_words<kGroups>(keys, block, words);
    for (int v = 0; v < 2 * kGroups; ++v) {
      const __m512i top = _mm512_srli_epi32(words[v], 8);  // < 2^24: exact as int32 -> double
      const __m512d u_low = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(top)), unit);
      const __m512d u_high = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(top, 1)), unit);
      const __m512 value = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(affine(u_low, a))),
                                              _mm512_cvtpd_ps(affine(u_high, a)), 1);
      const __mmask16 below = _mm512_cmp_ps_mask(value, high, _CMP_LT_OQ);
      _mm512_storeu_ps(dst + 16 * v, _mm512_mask_blend_ps(below, below_high, value));
    }
  });
}

// u = (joined >> 11) * 2^-53 in [0, 1), the 53-bit uniform of two joined words.
inline __m512d unit_from_joined(__m512i joined) {
  return _mm512_mul_pd(exact_double(_mm512_srli_epi64(joined, 11)), _mm512_set1_pd(scalar::kTwoPow53Inv));
}

void uniform_f64(double* out, index_t n, const UniformArgs& a) {
  const PhiloxKeys keys = philox_keys(a.seed);
  const __m512d high = _mm512_set1_pd(a.high), below_high = _mm512_set1_pd(a.below_high);
  fill_batches<2>(out, n, a.offset, [&](std::uint64_t block, double* dst) {
    __m512i low[kGroups], high_words[kGroups];
    philox_batch<kGroups>(keys, block, 0, low, high_words);
    for (int g = 0; g < kGroups; ++g) {
      __m512d value[2];  // slot 0 (words 0-1) and slot 1 (words 2-3) of the group's blocks
      value[0] = affine(unit_from_joined(low[g]), a);
      value[1] = affine(unit_from_joined(high_words[g]), a);
      for (__m512d& v : value) v = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(v, high, _CMP_LT_OQ), below_high, v);
      _mm512_storeu_pd(dst + 16 * g, _mm512_unpacklo_pd(value[0], value[1]));      // blocks +0 .. +3
      _mm512_storeu_pd(dst + 16 * g + 8, _mm512_unpackhi_pd(value[0], value[1]));  // blocks +4 .. +7
    }
  });
}

// The normals take kNormalGroups groups per batch: four independent chains through the long
// log and sin/cos series (detmath_avx512.hpp).
constexpr int kNormalGroups = 4;
constexpr unsigned kNormalBlocks = 8 * kNormalGroups;

// The 16 x kNormalGroups standard normals of blocks first .. first + kNormalBlocks - 1, in
// stream order (z[2g], z[2g + 1] from group g), as scalar::normal_pair, with rejected values
// redrawn when truncating.
inline void standard_normals(const PhiloxKeys& keys, std::uint64_t first, bool truncate, std::uint64_t seed,
                             __m512d (&z)[2 * kNormalGroups]) {
  __m512i low[kNormalGroups], high[kNormalGroups];
  philox_batch<kNormalGroups>(keys, first, 0, low, high);
  __m512d u1[kNormalGroups], u2[kNormalGroups], log_u1[kNormalGroups], sine[kNormalGroups], cosine[kNormalGroups];
  for (int g = 0; g < kNormalGroups; ++g) {
    const __m512i plus_one = _mm512_add_epi64(_mm512_srli_epi64(low[g], 11), _mm512_set1_epi64(1));
    u1[g] = _mm512_mul_pd(exact_double(plus_one), _mm512_set1_pd(scalar::kTwoPow53Inv));  // (0, 1]
    u2[g] = unit_from_joined(high[g]);                                                     // [0, 1)
  }
  log_unit<kNormalGroups>(u1, log_u1);
  sincos_turns<kNormalGroups>(u2, sine, cosine);
  for (int g = 0; g < kNormalGroups; ++g) {
    const __m512d radius = _mm512_sqrt_pd(_mm512_mul_pd(_mm512_set1_pd(-2.0), log_u1[g]));
    const __m512d z0 = _mm512_mul_pd(radius, cosine[g]), z1 = _mm512_mul_pd(radius, sine[g]);
    z[2 * g] = _mm512_unpacklo_pd(z0, z1);      // positions of blocks +0 .. +3
    z[2 * g + 1] = _mm512_unpackhi_pd(z0, z1);  // blocks +4 .. +7
  }
  if (!truncate) return;
  const __m512d limit = _mm512_set1_pd(scalar::kTruncation);
  for (int v = 0; v < 2 * kNormalGroups; ++v) {
    const unsigned rejected = _mm512_cmp_pd_mask(_mm512_abs_pd(z[v]), limit, _CMP_GT_OQ);
    if (rejected == 0) continue;  // 69% of vectors; a redraw is rare and scalar
    alignas(64) double values[8];
    _mm512_store_pd(values, z[v]);
    for (int lane = 0; lane < 8; ++lane) {
      if ((rejected >> lane) & 1) values[lane] = scalar::truncated_redraw(seed, 2 * first + 8 * v + lane, values[lane]);
    }
    z[v] = _mm512_load_pd(values);
  }
}

template <class T>
void normal(T* out, index_t n, const NormalArgs& a) {
  const PhiloxKeys keys = philox_keys(a.seed);
  const __m512d mean = _mm512_set1_pd(a.mean), stddev = _mm512_set1_pd(a.stddev);
  fill_batches<2, kNormalBlocks>(out, n, a.offset, [&](std::uint64_t block, T* dst) {
    __m512d z[2 * kNormalGroups];
    standard_normals(keys, block, a.truncate, a.seed, z);
    for (int v = 0; v < 2 * kNormalGroups; ++v) {
      const __m512d value = _mm512_add_pd(mean, _mm512_mul_pd(stddev, z[v]));
      if constexpr (sizeof(T) == 4) {
        _mm256_storeu_ps(reinterpret_cast<float*>(dst) + 8 * v, _mm512_cvtpd_ps(value));
      } else {
        _mm512_storeu_pd(reinterpret_cast<double*>(dst) + 8 * v, value);
      }
    }
  });
}

}  // namespace

const RngKernels rng_kernels = {
    "avx512",
    philox_blocks,
    random_words,
    dropout_f32,
    dropout_f64,
    uniform_f32,
    uniform_f64,
    normal<float>,
    normal<double>,
};

}  // namespace fastnn::avx512
