// float32 GEMM micro-kernel for AVX2 + FMA: a 6x16 tile of C held in 12 YMM accumulators.
// Each step of k loads one 16-wide row of packed B (two YMM) and broadcasts six values of
// packed A. Contract: ukernel.hpp. Compiled with -mavx2 -mfma only.
#include <immintrin.h>

#include "ukernel.hpp"

namespace fastnn::avx2 {

void sgemm_ukernel_6x16(index_t k, const float* a, index_t rs_a, index_t cs_a, const float* b, index_t rs_b, float* c,
                        index_t rs_c, int m, int n, bool accumulate) {
  constexpr int MR = 6, NR = 16;
  // Start fetching the C tile now: it is read (accumulate) or written after the k loop, and
  // would otherwise stall the end of every call on an L2/L3 miss.
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rs_c), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rs_c + NR - 1), _MM_HINT_T0);
  }
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  // One step of k: A(i, p) = ap[i * rs], one 16-wide row of B at bp.
  const auto step = [&](const float* ap, index_t rs, const float* bp) {
    const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(ap + i * rs);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  };
  index_t p = 0;
  if (rs_a == 1 && cs_a == MR) {
    // A packed panel, the usual case: four steps per iteration at fixed offsets, and the panel
    // prefetched eight iterations ahead. The same FMAs in the same order as the loop below.
    for (; p + 4 <= k; p += 4, a += 4 * MR, b += 4 * rs_b) {
      _mm_prefetch(reinterpret_cast<const char*>(a + 32 * MR), _MM_HINT_T0);
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) step(a + u * MR, 1, b + u * rs_b);
    }
  }
  for (; p < k; ++p, a += cs_a, b += rs_b) step(a, rs_a, b);

  if (m == MR && n == NR) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      float* row = c + i * rs_c;
      if (accumulate) {
        acc[i][0] = _mm256_add_ps(_mm256_loadu_ps(row), acc[i][0]);
        acc[i][1] = _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[i][1]);
      }
      _mm256_storeu_ps(row, acc[i][0]);
      _mm256_storeu_ps(row + 8, acc[i][1]);
    }
    return;
  }

  // Edge tile: spill the accumulators, then copy the valid m x n corner.
  alignas(32) float tile[MR * NR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(tile + i * NR, acc[i][0]);
    _mm256_store_ps(tile + i * NR + 8, acc[i][1]);
  }
  for (int i = 0; i < m; ++i) {
    float* row = c + i * rs_c;
    for (int j = 0; j < n; ++j) row[j] = accumulate ? row[j] + tile[i * NR + j] : tile[i * NR + j];
  }
}

}  // namespace fastnn::avx2
