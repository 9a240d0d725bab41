// The narrow-output kernel contract: C = A · B for outputs a few columns wide (a 10-way or
// single-output layer's forward), computed as dot products along k instead of in MR x NR tiles.
//
//   C[i, j] = Σ_p A(i, p) · Bt(j, p)   for i < m, j < n        (C is never read)
//
// - A(i, p) = a[i * rs_a + p]: rows contiguous along k, read in place (any row stride).
// - Bt(j, p) = bt[j * ld_bt + p]: op(B) transposed and packed, one row per column of C, each
//   zero from k up to ld_bt (a multiple of the kernel's vector width), 32-byte aligned.
// - c: row-major, row stride rs_c elements; m, n, k >= 1.
//
// A tile of MR x NR lanes leaves most of them idle when n is 10 (or 1), and computing Cᵀ
// instead makes the GEMM transpose all of A while packing. Here every lane works: each element
// of C gets its own vector of partial sums along k (the masked last k % width values go into
// the same lanes), reduced across the lanes at the end in a fixed order. So within a kernel an
// element's value depends on its row of A, its column of B and k alone, never on m, n, the
// grouping of columns or the thread count. Which products take the kernel (gemm.cpp) depends on
// n, k and A's layout, so the same element computed by the tiles differs in its last bits.
#pragma once

#include "../common.hpp"

namespace fastnn {

template <class T>
using NarrowKernel = void (*)(index_t m, index_t n, index_t k, const T* a, index_t rs_a, const T* bt, index_t ld_bt,
                              T* c, index_t rs_c);

namespace avx2 {
// Outputs up to this wide are one group of columns, swept down the rows in tiles of up to six
// rows; wider ones go three rows at a time across several groups.
constexpr index_t kNarrowGroupColumns = 4;

void sgemm_narrow(index_t m, index_t n, index_t k, const float* a, index_t rs_a, const float* bt, index_t ld_bt,
                  float* c, index_t rs_c);
void dgemm_narrow(index_t m, index_t n, index_t k, const double* a, index_t rs_a, const double* bt, index_t ld_bt,
                  double* c, index_t rs_c);
}  // namespace avx2

}  // namespace fastnn
