// float64 GEMM micro-kernel for AVX2 + FMA: a 6x8 tile of C held in 12 YMM accumulators.
// Contract: ukernel.hpp. Compiled with -mavx2 -mfma only.
#include <immintrin.h>

#include "ukernel.hpp"

namespace fastnn::avx2 {

void dgemm_ukernel_6x8(index_t k, const double* a, index_t rs_a, index_t cs_a, const double* b, index_t rs_b, double* c,
                       index_t rs_c, int m, int n, bool accumulate) {
  constexpr int MR = 6, NR = 8;
  // Start fetching the C tile now: it is read (accumulate) or written after the k loop, and
  // would otherwise stall the end of every call on an L2/L3 miss.
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rs_c), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rs_c + NR - 1), _MM_HINT_T0);
  }
  const double* rows[MR];  // A's rows: a packed panel's (rs_a = 1) or a matrix's, read in place
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) rows[i] = a + i * rs_a;
  __m256d acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_pd();

  // Four steps of k per iteration (GCC keeps all 12 accumulators in registers): on a Zen 3,
  // interleaved against one step, float64 products of 300-1024 rows took 0.85-0.92x the time by
  // median, (1000, 10, 512) 0.95x.
#pragma GCC unroll 4
  for (index_t p = 0, at = 0; p < k; ++p, at += cs_a, b += rs_b) {
    const __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256d ai = _mm256_broadcast_sd(rows[i] + at);
      acc[i][0] = _mm256_fmadd_pd(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_pd(ai, b1, acc[i][1]);
    }
  }

  if (m == MR && n == NR) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      double* row = c + i * rs_c;
      if (accumulate) {
        acc[i][0] = _mm256_add_pd(_mm256_loadu_pd(row), acc[i][0]);
        acc[i][1] = _mm256_add_pd(_mm256_loadu_pd(row + 4), acc[i][1]);
      }
      _mm256_storeu_pd(row, acc[i][0]);
      _mm256_storeu_pd(row + 4, acc[i][1]);
    }
    return;
  }

  alignas(32) double tile[MR * NR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    _mm256_store_pd(tile + i * NR, acc[i][0]);
    _mm256_store_pd(tile + i * NR + 4, acc[i][1]);
  }
  for (int i = 0; i < m; ++i) {
    double* row = c + i * rs_c;
    for (int j = 0; j < n; ++j) row[j] = accumulate ? row[j] + tile[i * NR + j] : tile[i * NR + j];
  }
}

}  // namespace fastnn::avx2
