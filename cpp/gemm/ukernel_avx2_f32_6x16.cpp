// float32 GEMM micro-kernel for AVX2 + FMA: a 6x16 tile of C held in 12 YMM accumulators.
// Each step of k loads one 16-wide row of packed B (two YMM) and broadcasts six values of
// packed A. Contract: ukernel.hpp. Compiled with -mavx2 -mfma only.
#include <immintrin.h>

#include "ukernel.hpp"

namespace fastnn::avx2 {
namespace {

// One step of k in packed_steps: B's row at B0/B1 into ymm12/ymm13, A's six values at
// A_OFFSET(%[a]) broadcast in turn into ymm14/ymm15, twelve FMAs into ymm0-ymm11
// (accumulator 2i + h holds C(i, 8h : 8h + 8)).
#define FASTNN_STEP(A_OFFSET, B0, B1)                                   \
  "vmovups " B0 ", %%ymm12\n\t"                                          \
  "vmovups " B1 ", %%ymm13\n\t"                                          \
  "vbroadcastss " #A_OFFSET "+0(%[a]), %%ymm14\n\t"                      \
  "vbroadcastss " #A_OFFSET "+4(%[a]), %%ymm15\n\t"                      \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"                             \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"                             \
  "vbroadcastss " #A_OFFSET "+8(%[a]), %%ymm14\n\t"                      \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"                             \
  "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"                             \
  "vbroadcastss " #A_OFFSET "+12(%[a]), %%ymm15\n\t"                     \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"                             \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"                             \
  "vbroadcastss " #A_OFFSET "+16(%[a]), %%ymm14\n\t"                     \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"                             \
  "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"                             \
  "vbroadcastss " #A_OFFSET "+20(%[a]), %%ymm15\n\t"                     \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"                             \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"                             \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"                            \
  "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"

// The first 4 * iterations steps of k over a packed A panel (a[i + 6 p]) and rows of B rs_b
// apart, from zero, stored into sums (row-major 6 x 16). Four steps per iteration, with A's
// panel prefetched eight iterations ahead. Written in assembly because GCC 12 compiles the
// same loop in intrinsics, at -O2 and -O3, into register-to-register copies and a spill of one
// accumulator to the stack every iteration: measured on a Zen 3 with the kernel alone (A from
// L2, B from L1 or L3), this loop ran 2-5% faster by median of interleaved runs. Each FMA
// rounds once, and a * b == b * a exactly, so the sums are bitwise those of the intrinsics loop
// in sgemm_ukernel_6x16.
void packed_steps(index_t iterations, const float* a, const float* b, index_t rs_b, float* sums) {
  const index_t row_bytes = rs_b * index_t(sizeof(float)), three_rows_bytes = 3 * row_bytes;
  __asm__ volatile(
      "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
      "vxorps %%ymm1, %%ymm1, %%ymm1\n\t"
      "vxorps %%ymm2, %%ymm2, %%ymm2\n\t"
      "vxorps %%ymm3, %%ymm3, %%ymm3\n\t"
      "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
      "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
      "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
      "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
      "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
      "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
      "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
      "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
      ".p2align 5\n"
      "1:\n\t"
      "prefetcht0 768(%[a])\n\t"
      FASTNN_STEP(0, "(%[b])", "32(%[b])")
      FASTNN_STEP(24, "(%[b],%[row])", "32(%[b],%[row])")
      FASTNN_STEP(48, "(%[b],%[row],2)", "32(%[b],%[row],2)")
      FASTNN_STEP(72, "(%[b],%[three_rows])", "32(%[b],%[three_rows])")
      "addq $96, %[a]\n\t"
      "leaq (%[b],%[row],4), %[b]\n\t"
      "decq %[iterations]\n\t"
      "jnz 1b\n\t"
      "vmovaps %%ymm0, 0(%[sums])\n\t"
      "vmovaps %%ymm1, 32(%[sums])\n\t"
      "vmovaps %%ymm2, 64(%[sums])\n\t"
      "vmovaps %%ymm3, 96(%[sums])\n\t"
      "vmovaps %%ymm4, 128(%[sums])\n\t"
      "vmovaps %%ymm5, 160(%[sums])\n\t"
      "vmovaps %%ymm6, 192(%[sums])\n\t"
      "vmovaps %%ymm7, 224(%[sums])\n\t"
      "vmovaps %%ymm8, 256(%[sums])\n\t"
      "vmovaps %%ymm9, 288(%[sums])\n\t"
      "vmovaps %%ymm10, 320(%[sums])\n\t"
      "vmovaps %%ymm11, 352(%[sums])\n\t"
      : [a] "+r"(a), [b] "+r"(b), [iterations] "+r"(iterations)
      : [row] "r"(row_bytes), [three_rows] "r"(three_rows_bytes), [sums] "r"(sums)
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

#undef FASTNN_STEP

}  // namespace

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
  index_t p = 0;
  if (rs_a == 1 && cs_a == MR && k >= 4) {  // a packed A panel, the usual case
    alignas(32) float sums[MR * NR];
    p = k / 4 * 4;
    packed_steps(k / 4, a, b, rs_b, sums);
    a += p * MR, b += p * rs_b;
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      acc[i][0] = _mm256_load_ps(sums + i * NR);
      acc[i][1] = _mm256_load_ps(sums + i * NR + 8);
    }
  } else {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  }
  // The remaining steps (all of them for A read in place): A(i, p) = a[i * rs_a + p * cs_a].
  for (; p < k; ++p, a += cs_a, b += rs_b) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i * rs_a);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }

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
