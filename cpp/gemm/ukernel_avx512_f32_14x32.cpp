// float32 GEMM micro-kernel for AVX-512: a 14x32 tile of C held in 28 ZMM accumulators,
// leaving registers for the two 16-wide rows of packed B; A values are broadcast from
// memory into the FMA. Contract: ukernel.hpp. Compiled with the AVX-512 flags only.
#include <immintrin.h>

#include "ukernel.hpp"

namespace fastnn::avx512 {

void sgemm_ukernel_14x32(index_t k, const float* a, index_t rs_a, index_t cs_a, const float* b, index_t rs_b, float* c,
                         index_t rs_c, int m, int n, bool accumulate) {
  constexpr int MR = 14, NR = 32;
  // Start fetching the C tile now: it is read (accumulate) or written after the k loop, and
  // would otherwise stall the end of every call on an L2/L3 miss.
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rs_c), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * rs_c + NR - 1), _MM_HINT_T0);
  }
  const float* rows[MR];  // A's rows: a packed panel's (rs_a = 1) or a matrix's, read in place
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) rows[i] = a + i * rs_a;
  __m512 acc[MR][2];
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();

  for (index_t p = 0, at = 0; p < k; ++p, at += cs_a, b += rs_b) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(rows[i][at]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }

  if (m == MR && n == NR) {
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      float* row = c + i * rs_c;
      if (accumulate) {
        acc[i][0] = _mm512_add_ps(_mm512_loadu_ps(row), acc[i][0]);
        acc[i][1] = _mm512_add_ps(_mm512_loadu_ps(row + 16), acc[i][1]);
      }
      _mm512_storeu_ps(row, acc[i][0]);
      _mm512_storeu_ps(row + 16, acc[i][1]);
    }
    return;
  }

  // Edge tile: spill the accumulators, then masked copies of the valid m x n corner.
  alignas(64) float tile[MR * NR];
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) {
    _mm512_store_ps(tile + i * NR, acc[i][0]);
    _mm512_store_ps(tile + i * NR + 16, acc[i][1]);
  }
  const __mmask16 mask0 = n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
  const __mmask16 mask1 = n >= 32 ? __mmask16(0xFFFF) : n > 16 ? __mmask16((1u << (n - 16)) - 1) : __mmask16(0);
  for (int i = 0; i < m; ++i) {
    float* row = c + i * rs_c;
    __m512 v0 = _mm512_load_ps(tile + i * NR), v1 = _mm512_load_ps(tile + i * NR + 16);
    if (accumulate) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(mask0, row), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(mask1, row + 16), v1);
    }
    _mm512_mask_storeu_ps(row, mask0, v0);
    _mm512_mask_storeu_ps(row + 16, mask1, v1);
  }
}

}  // namespace fastnn::avx512
