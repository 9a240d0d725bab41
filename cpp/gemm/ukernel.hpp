// The GEMM micro-kernel contract. Every micro-kernel, whatever its ISA and tile, has this
// signature, so the portable blocking loops (gemm.cpp) drive any of them.
//
//   C[0:m, 0:n] = A · B            (accumulate == false; C is never read)
//   C[0:m, 0:n] += A · B           (accumulate == true)
//
// - A(i, p) = a[i * rs_a + p * cs_a] for i < MR, p < k: a packed micro-panel (rs_a = 1,
//   cs_a = MR, rows past m zero) or MR rows of a matrix of any strides read in place. All MR
//   rows are read, so every one must be addressable.
// - B(p, j) = b[p * rs_b + j] for j < NR: a packed micro-panel (rs_b = NR, columns past n zero,
//   64-byte aligned) or NR columns of a row-major matrix read in place.
// - c: row-major, row stride rs_c elements, unit column stride; only C[0:m, 0:n] is touched.
// - 1 <= m <= MR, 1 <= n <= NR, k >= 1.
// - Every tile runs the same arithmetic in the same order (packed or not, full or edge), so an
//   element's value never depends on tile boundaries or packing (results are bitwise identical
//   for any thread count).
//
// This header is included by the per-ISA files: declarations only.
#pragma once

#include "../common.hpp"

namespace fastnn {

template <class T>
using GemmUkernel = void (*)(index_t k, const T* a, index_t rs_a, index_t cs_a, const T* b, index_t rs_b, T* c,
                             index_t rs_c, int m, int n, bool accumulate);

namespace generic {
void sgemm_ukernel_4x8(index_t k, const float* a, index_t rs_a, index_t cs_a, const float* b,
                       index_t rs_b, float* c, index_t rs_c, int m, int n, bool accumulate);
void dgemm_ukernel_4x4(index_t k, const double* a, index_t rs_a, index_t cs_a, const double* b,
                       index_t rs_b, double* c, index_t rs_c, int m, int n, bool accumulate);
}  // namespace generic

namespace avx2 {
void sgemm_ukernel_6x16(index_t k, const float* a, index_t rs_a, index_t cs_a, const float* b,
                        index_t rs_b, float* c, index_t rs_c, int m, int n, bool accumulate);
void dgemm_ukernel_6x8(index_t k, const double* a, index_t rs_a, index_t cs_a, const double* b,
                       index_t rs_b, double* c, index_t rs_c, int m, int n, bool accumulate);
}  // namespace avx2

namespace avx512 {
void sgemm_ukernel_14x32(index_t k, const float* a, index_t rs_a, index_t cs_a, const float* b,
                         index_t rs_b, float* c, index_t rs_c, int m, int n, bool accumulate);
void dgemm_ukernel_14x16(index_t k, const double* a, index_t rs_a, index_t cs_a, const double* b,
                         index_t rs_b, double* c, index_t rs_c, int m, int n, bool accumulate);
}  // namespace avx512

}  // namespace fastnn
