// Philox4x32-10 on AVX2, four blocks per register, bitwise the scalar philox4x32_10.
//
// Lanes are blocks: a register holds one word of four blocks, each in the low half of a 64-bit
// lane. _mm256_mul_epu32 multiplies exactly those low halves into full 64-bit products, so a
// round is two multiplies, two swaps of 32-bit halves (the high words down) and four XORs, with
// no blend or shift on the way; the high halves carry garbage that no later step reads.
//
// Lane order. Group g of a batch holds blocks first + 4g + (0, 2, 1, 3) in lanes 0..3, so that
// the in-lane unpacks at the end put whole blocks in stream order with no cross-lane shuffle:
// unpacklo of (w0|w1, w2|w3) is blocks +0 and +1, unpackhi blocks +2 and +3.
//
// Only for files compiled with -mavx2 (kernels_avx2.cpp); `static` so each has its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace fastnn::avx2 {

// The ten round keys of a stream, each broadcast to the low half of every 64-bit lane.
struct PhiloxKeys {
  __m256i k0[10], k1[10];
};

static inline PhiloxKeys philox_keys(std::uint32_t key0, std::uint32_t key1) {
  PhiloxKeys keys;
  for (int round = 0; round < 10; ++round) {
    keys.k0[round] = _mm256_set1_epi64x(key0);
    keys.k1[round] = _mm256_set1_epi64x(key1);
    key0 += 0x9E3779B9u;  // the Weyl key schedule, bumped before rounds 2..10
    key1 += 0xBB67AE85u;
  }
  return keys;
}

static inline PhiloxKeys philox_keys(std::uint64_t seed) {
  return philox_keys(std::uint32_t(seed), std::uint32_t(seed >> 32));
}

// Ten rounds on G groups of four blocks at once (independent chains, for the multiplier's latency).
template <int G>
static inline void philox_rounds(__m256i (&c0)[G], __m256i (&c1)[G], __m256i (&c2)[G], __m256i (&c3)[G],
                                 const PhiloxKeys& keys) {
  const __m256i mul0 = _mm256_set1_epi64x(0xD2511F53u), mul1 = _mm256_set1_epi64x(0xCD9E8D57u);
  for (int round = 0; round < 10; ++round) {
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const __m256i product0 = _mm256_mul_epu32(c0[g], mul0);  // hi0:lo0
      const __m256i product1 = _mm256_mul_epu32(c2[g], mul1);  // hi1:lo1
      const __m256i hi0 = _mm256_shuffle_epi32(product0, _MM_SHUFFLE(2, 3, 0, 1));
      const __m256i hi1 = _mm256_shuffle_epi32(product1, _MM_SHUFFLE(2, 3, 0, 1));
      c0[g] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[g]), keys.k0[round]);
      c1[g] = product1;
      c2[g] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[g]), keys.k1[round]);
      c3[g] = product0;
    }
  }
}

// Blocks first .. first + 4G - 1 (counter words 2 and 3: attempt and 0), as joined 64-bit lanes
// in the lane order above: low[g] holds w0 | w1 << 32 and high[g] w2 | w3 << 32 of each block.
template <int G>
static inline void philox_batch(const PhiloxKeys& keys, std::uint64_t first, std::uint32_t attempt, __m256i (&low)[G],
                                __m256i (&high)[G]) {
  __m256i c0[G], c1[G], c2[G], c3[G];
  const __m256i lanes = _mm256_add_epi64(_mm256_set1_epi64x(std::int64_t(first)), _mm256_setr_epi64x(0, 2, 1, 3));
  for (int g = 0; g < G; ++g) {
    const __m256i blocks = _mm256_add_epi64(lanes, _mm256_set1_epi64x(4 * g));
    c0[g] = blocks;
    c1[g] = _mm256_srli_epi64(blocks, 32);
    c2[g] = _mm256_set1_epi64x(attempt);
    c3[g] = _mm256_setzero_si256();
  }
  philox_rounds<G>(c0, c1, c2, c3, keys);
  for (int g = 0; g < G; ++g) {
    low[g] = _mm256_blend_epi32(c0[g], _mm256_slli_epi64(c1[g], 32), 0xAA);
    high[g] = _mm256_blend_epi32(c2[g], _mm256_slli_epi64(c3[g], 32), 0xAA);
  }
}

// The 16 G words of blocks first .. first + 4G - 1 in stream order: words[2g] holds blocks
// first + 4g and + 1, words[2g + 1] blocks + 2 and + 3.
template <int G>
static inline void philox_words(const PhiloxKeys& keys, std::uint64_t first, __m256i (&words)[2 * G]) {
  __m256i low[G], high[G];
  philox_batch<G>(keys, first, 0, low, high);
  for (int g = 0; g < G; ++g) {
    words[2 * g] = _mm256_unpacklo_epi64(low[g], high[g]);
    words[2 * g + 1] = _mm256_unpackhi_epi64(low[g], high[g]);
  }
}

}  // namespace fastnn::avx2
