// The GEMM micro-kernel contract. Every micro-kernel, whatever its ISA and tile, has this
// signature, so the portable blocking loops (gemm.cpp) drive any of them.
//
//   C[0:m, 0:n] = A_panel · B_panel            (accumulate == false; C is never read)
//   C[0:m, 0:n] += A_panel · B_panel           (accumulate == true)
//
// - a: a packed A micro-panel, k columns of MR contiguous values: a[p*MR + i] = A(i, p).
//   Rows i >= m are zero padding.
// - b: a packed B micro-panel, k rows of NR contiguous values: b[p*NR + j] = B(p, j).
//   Columns j >= n are zero padding. Both panels are 64-byte aligned.
// - c: row-major, row stride rs_c elements, unit column stride; only C[0:m, 0:n] is touched.
// - 1 <= m <= MR, 1 <= n <= NR, k >= 1.
// - Edge tiles (m < MR or n < NR) run the same arithmetic as full tiles, so an element's
//   value never depends on where the tile boundaries fall (results are bitwise identical
//   for any thread count).
//
// This header is included by the per-ISA files: declarations only.
#pragma once

#include "../common.hpp"

namespace fastnn {

template <class T>
using GemmUkernel = void (*)(index_t k, const T* a, const T* b, T* c, index_t rs_c, int m, int n,
                             bool accumulate);

namespace generic {
void sgemm_ukernel_4x8(index_t k, const float* a, const float* b, float* c, index_t rs_c, int m, int n,
                       bool accumulate);
void dgemm_ukernel_4x4(index_t k, const double* a, const double* b, double* c, index_t rs_c, int m, int n,
                       bool accumulate);
}  // namespace generic

namespace avx2 {
void sgemm_ukernel_6x16(index_t k, const float* a, const float* b, float* c, index_t rs_c, int m, int n,
                        bool accumulate);
void dgemm_ukernel_6x8(index_t k, const double* a, const double* b, double* c, index_t rs_c, int m, int n,
                       bool accumulate);
}  // namespace avx2

namespace avx512 {
void sgemm_ukernel_14x32(index_t k, const float* a, const float* b, float* c, index_t rs_c, int m, int n,
                         bool accumulate);
void dgemm_ukernel_14x16(index_t k, const double* a, const double* b, double* c, index_t rs_c, int m,
                         int n, bool accumulate);
}  // namespace avx512

}  // namespace fastnn
