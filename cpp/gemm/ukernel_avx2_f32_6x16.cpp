// float32 GEMM micro-kernel for AVX2 + FMA: a 6x16 tile of C held in 12 YMM accumulators.
// Each step of k loads one 16-wide row of B (two YMM) and broadcasts six values of A.
// Contract: ukernel.hpp. Compiled with -mavx2 -mfma only.
#include <immintrin.h>

#include "ukernel.hpp"

namespace fastnn::avx2 {
namespace {

// The k loop of the two layouts of A that the GEMM feeds (ukernel.hpp) is written in assembly:
// GCC 12 compiles it from intrinsics, at -O2 and -O3, into register-to-register copies and a
// spill of one accumulator to the stack every iteration (the packed loop, unrolled four steps),
// or into a slower loop (the rows loop). Measured on a Zen 3, the kernel alone with A from L2
// and B from L1 or L3: the packed loop 0.5-5% faster than its intrinsics by median of
// interleaved runs; the rows loop 75-78 GFLOP/s from intrinsics against the packed loop's
// 83-86, and as fast as the packed loop in assembly. Each FMA rounds once and a * b == b * a
// exactly, so the sums are bitwise those of the intrinsics loop that finishes the remaining
// steps in sgemm_ukernel_6x16.
//
// Registers: accumulator 2i + h (ymm0-ymm11) holds C(i, 8h : 8h + 8); ymm12/ymm13 one row of
// B; ymm14/ymm15 A's broadcast values. Both loops take four steps of k per iteration.

// One step of k: B's row at address B (16 floats), A's six values at A0..A5.
#define FASTNN_STEP(A0, A1, A2, A3, A4, A5, B)     \
  "vmovups " B ", %%ymm12\n\t"                      \
  "vmovups 32" B ", %%ymm13\n\t"                    \
  "vbroadcastss " A0 ", %%ymm14\n\t"                \
  "vbroadcastss " A1 ", %%ymm15\n\t"                \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm0\n\t"        \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm1\n\t"        \
  "vbroadcastss " A2 ", %%ymm14\n\t"                \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm2\n\t"        \
  "vfmadd231ps %%ymm13, %%ymm15, %%ymm3\n\t"        \
  "vbroadcastss " A3 ", %%ymm15\n\t"                \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm4\n\t"        \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm5\n\t"        \
  "vbroadcastss " A4 ", %%ymm14\n\t"                \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm6\n\t"        \
  "vfmadd231ps %%ymm13, %%ymm15, %%ymm7\n\t"        \
  "vbroadcastss " A5 ", %%ymm15\n\t"                \
  "vfmadd231ps %%ymm12, %%ymm14, %%ymm8\n\t"        \
  "vfmadd231ps %%ymm13, %%ymm14, %%ymm9\n\t"        \
  "vfmadd231ps %%ymm12, %%ymm15, %%ymm10\n\t"       \
  "vfmadd231ps %%ymm13, %%ymm15, %%ymm11\n\t"

// Steps u = 0..3 of an iteration read B's rows at b + u * row (three_rows = 3 * row bytes).
#define FASTNN_B_ROW_0 "(%[b])"
#define FASTNN_B_ROW_1 "(%[b],%[row])"
#define FASTNN_B_ROW_2 "(%[b],%[row],2)"
#define FASTNN_B_ROW_3 "(%[b],%[three_rows])"

#define FASTNN_ZERO_ACCUMULATORS                                                                   \
  "vxorps %%ymm0, %%ymm0, %%ymm0\n\t vxorps %%ymm1, %%ymm1, %%ymm1\n\t"                         \
  "vxorps %%ymm2, %%ymm2, %%ymm2\n\t vxorps %%ymm3, %%ymm3, %%ymm3\n\t"                         \
  "vxorps %%ymm4, %%ymm4, %%ymm4\n\t vxorps %%ymm5, %%ymm5, %%ymm5\n\t"                         \
  "vxorps %%ymm6, %%ymm6, %%ymm6\n\t vxorps %%ymm7, %%ymm7, %%ymm7\n\t"                         \
  "vxorps %%ymm8, %%ymm8, %%ymm8\n\t vxorps %%ymm9, %%ymm9, %%ymm9\n\t"                         \
  "vxorps %%ymm10, %%ymm10, %%ymm10\n\t vxorps %%ymm11, %%ymm11, %%ymm11\n\t"

#define FASTNN_STORE_ACCUMULATORS                                                                  \
  "vmovaps %%ymm0, 0(%[sums])\n\t vmovaps %%ymm1, 32(%[sums])\n\t"                               \
  "vmovaps %%ymm2, 64(%[sums])\n\t vmovaps %%ymm3, 96(%[sums])\n\t"                              \
  "vmovaps %%ymm4, 128(%[sums])\n\t vmovaps %%ymm5, 160(%[sums])\n\t"                            \
  "vmovaps %%ymm6, 192(%[sums])\n\t vmovaps %%ymm7, 224(%[sums])\n\t"                            \
  "vmovaps %%ymm8, 256(%[sums])\n\t vmovaps %%ymm9, 288(%[sums])\n\t"                            \
  "vmovaps %%ymm10, 320(%[sums])\n\t vmovaps %%ymm11, 352(%[sums])\n\t"

#define FASTNN_CLOBBERS                                                                                   \
  "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
      "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

// The first 4 * iterations steps of k from zero, stored into sums (row-major 6 x 16), for a
// packed A panel (A(i, p) = a[i + 6 p]), prefetched eight iterations ahead.
void packed_steps(index_t iterations, const float* a, const float* b, index_t rs_b, float* sums) {
  const index_t row = rs_b * index_t(sizeof(float)), three_rows = 3 * row;
  __asm__ volatile(
      FASTNN_ZERO_ACCUMULATORS
      ".p2align 5\n"
      "1:\n\t"
      "prefetcht0 768(%[a])\n\t"
      FASTNN_STEP("0(%[a])", "4(%[a])", "8(%[a])", "12(%[a])", "16(%[a])", "20(%[a])", FASTNN_B_ROW_0)
      FASTNN_STEP("24(%[a])", "28(%[a])", "32(%[a])", "36(%[a])", "40(%[a])", "44(%[a])", FASTNN_B_ROW_1)
      FASTNN_STEP("48(%[a])", "52(%[a])", "56(%[a])", "60(%[a])", "64(%[a])", "68(%[a])", FASTNN_B_ROW_2)
      FASTNN_STEP("72(%[a])", "76(%[a])", "80(%[a])", "84(%[a])", "88(%[a])", "92(%[a])", FASTNN_B_ROW_3)
      "addq $96, %[a]\n\t"
      "leaq (%[b],%[row],4), %[b]\n\t"
      "decq %[iterations]\n\t"
      "jnz 1b\n\t"
      FASTNN_STORE_ACCUMULATORS
      : [a] "+r"(a), [b] "+r"(b), [iterations] "+r"(iterations)
      : [row] "r"(row), [three_rows] "r"(three_rows), [sums] "r"(sums)
      : FASTNN_CLOBBERS);
}

// The same for A's rows read in place (A(i, p) = a[i * rs_a + p]): row i at a + i * a_row
// bytes, row 5 through its own pointer (x86 scales an index by 1, 2, 4 or 8 only).
void row_steps(index_t iterations, const float* a, index_t rs_a, const float* b, index_t rs_b, float* sums) {
  const index_t row = rs_b * index_t(sizeof(float)), three_rows = 3 * row;
  const index_t a_row = rs_a * index_t(sizeof(float)), three_a_rows = 3 * a_row;
  const float* a5 = a + 5 * rs_a;
  __asm__ volatile(
      FASTNN_ZERO_ACCUMULATORS
      ".p2align 5\n"
      "1:\n\t"
      FASTNN_STEP("0(%[a])", "0(%[a],%[a_row])", "0(%[a],%[a_row],2)", "0(%[a],%[three_a_rows])",
                  "0(%[a],%[a_row],4)", "0(%[a5])", FASTNN_B_ROW_0)
      FASTNN_STEP("4(%[a])", "4(%[a],%[a_row])", "4(%[a],%[a_row],2)", "4(%[a],%[three_a_rows])",
                  "4(%[a],%[a_row],4)", "4(%[a5])", FASTNN_B_ROW_1)
      FASTNN_STEP("8(%[a])", "8(%[a],%[a_row])", "8(%[a],%[a_row],2)", "8(%[a],%[three_a_rows])",
                  "8(%[a],%[a_row],4)", "8(%[a5])", FASTNN_B_ROW_2)
      FASTNN_STEP("12(%[a])", "12(%[a],%[a_row])", "12(%[a],%[a_row],2)", "12(%[a],%[three_a_rows])",
                  "12(%[a],%[a_row],4)", "12(%[a5])", FASTNN_B_ROW_3)
      "addq $16, %[a]\n\t"
      "addq $16, %[a5]\n\t"
      "leaq (%[b],%[row],4), %[b]\n\t"
      "decq %[iterations]\n\t"
      "jnz 1b\n\t"
      FASTNN_STORE_ACCUMULATORS
      : [a] "+r"(a), [a5] "+r"(a5), [b] "+r"(b), [iterations] "+r"(iterations)
      : [row] "r"(row), [three_rows] "r"(three_rows), [a_row] "r"(a_row), [three_a_rows] "r"(three_a_rows),
        [sums] "r"(sums)
      : FASTNN_CLOBBERS);
}

#undef FASTNN_STEP
#undef FASTNN_B_ROW_0
#undef FASTNN_B_ROW_1
#undef FASTNN_B_ROW_2
#undef FASTNN_B_ROW_3
#undef FASTNN_ZERO_ACCUMULATORS
#undef FASTNN_STORE_ACCUMULATORS
#undef FASTNN_CLOBBERS

// The fewest steps of k worth the assembly loops: their sums reach the rest of the kernel
// through memory, which cost more than the loop saves on short reductions. Measured
// interleaved against the intrinsics loop at (128, k, 512): k = 4, 6, 10 and 12 took 1.05-1.13x
// the time with the assembly, and (65536, 9, 16), a 3x3 convolution's product over one channel,
// 1.13x; from 16 up the two were within 4%, and long reductions gain (see above).
constexpr index_t kAssemblySteps = 16;

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
  alignas(32) float sums[MR * NR];
  index_t p = 0;
  if (k >= kAssemblySteps && ((rs_a == 1 && cs_a == MR) || cs_a == 1)) {  // packed A, or A's rows in place
    p = k / 4 * 4;
    if (cs_a == 1) {
      row_steps(k / 4, a, rs_a, b, rs_b, sums);
    } else {
      packed_steps(k / 4, a, b, rs_b, sums);
    }
    a += p * cs_a, b += p * rs_b;
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      acc[i][0] = _mm256_load_ps(sums + i * NR);
      acc[i][1] = _mm256_load_ps(sums + i * NR + 8);
    }
  } else {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  }
  // The remaining steps (all of them for short reductions and other strides of A):
  // A(i, p) = a[i * rs_a + p * cs_a].
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
