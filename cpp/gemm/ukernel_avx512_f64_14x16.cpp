// float64 GEMM micro-kernel for AVX-512: a 14x16 tile of C held in 28 ZMM accumulators.
// Contract: ukernel.hpp. Compiled with the AVX-512 flags only.
#include <immintrin.h>

#include "ukernel.hpp"

namespace fastnn::avx512 {

void dgemm_ukernel_14x16(index_t k, const double* a, index_t rs_a, index_t cs_a, const double* b, index_t rs_b, double* c,
                         index_t rs_c, int m, int n, bool accumulate) {
  constexpr int MR = 14, NR = 16;
  // Start fetching the C tile now: it is read (accumulate) or written after the k loop, and
  // would otherwise stall the end of every call on an L2/L3 miss.
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rs_c), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rs_c + NR - 1), _MM_HINT_T0);
  }
  const double* rows[MR];  // A's rows: a packed panel's (rs_a = 1) or a matrix's, read in place
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) rows[i] = a + i * rs_a;
  __m512d acc[MR][2];
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_pd();

  for (index_t p = 0, at = 0; p < k; ++p, at += cs_a, b += rs_b) {
    const __m512d b0 = _mm512_loadu_pd(b), b1 = _mm512_loadu_pd(b + 8);
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      const __m512d ai = _mm512_set1_pd(rows[i][at]);
      acc[i][0] = _mm512_fmadd_pd(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_pd(ai, b1, acc[i][1]);
    }
  }

  if (m == MR && n == NR) {
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      double* row = c + i * rs_c;
      if (accumulate) {
        acc[i][0] = _mm512_add_pd(_mm512_loadu_pd(row), acc[i][0]);
        acc[i][1] = _mm512_add_pd(_mm512_loadu_pd(row + 8), acc[i][1]);
      }
      _mm512_storeu_pd(row, acc[i][0]);
      _mm512_storeu_pd(row + 8, acc[i][1]);
    }
    return;
  }

  alignas(64) double tile[MR * NR];
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) {
    _mm512_store_pd(tile + i * NR, acc[i][0]);
    _mm512_store_pd(tile + i * NR + 8, acc[i][1]);
  }
  const __mmask8 mask0 = n >= 8 ? __mmask8(0xFF) : __mmask8((1u << n) - 1);
  const __mmask8 mask1 = n >= 16 ? __mmask8(0xFF) : n > 8 ? __mmask8((1u << (n - 8)) - 1) : __mmask8(0);
  for (int i = 0; i < m; ++i) {
    double* row = c + i * rs_c;
    __m512d v0 = _mm512_load_pd(tile + i * NR), v1 = _mm512_load_pd(tile + i * NR + 8);
    if (accumulate) {
      v0 = _mm512_add_pd(_mm512_maskz_loadu_pd(mask0, row), v0);
      v1 = _mm512_add_pd(_mm512_maskz_loadu_pd(mask1, row + 8), v1);
    }
    _mm512_mask_storeu_pd(row, mask0, v0);
    _mm512_mask_storeu_pd(row + 8, mask1, v1);
  }
}

}  // namespace fastnn::avx512
