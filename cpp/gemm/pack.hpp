// Packing: copies blocks of op(A) and op(B) into the contiguous, zero-padded micro-panels
// that the micro-kernels read (layouts in ukernel.hpp). Transposes and arbitrary strides are
// absorbed here, so matmul never copies a transposed or strided operand first.
#pragma once

#include "../common.hpp"

namespace fastnn {

// A strided read-only matrix: element (i, j) is data[i * rs + j * cs]. Strides are in
// elements and may be zero or negative (NumPy views).
template <class T>
struct MatrixView {
  const T* data;
  index_t rs, cs;
};

// Packs op(A)[row : row + mc, col : col + kc] into ceil(mc / mr) micro-panels of mr rows,
// each kc * mr values long; rows past mc are zero.
template <class T>
void pack_a(const MatrixView<T>& a, index_t row, index_t col, index_t mc, index_t kc, index_t mr, T* dst);

// Packs op(B)[row : row + kc, col : col + n] into one micro-panel of kc rows of nr values;
// columns past n (n <= nr) are zero.
template <class T>
void pack_b_panel(const MatrixView<T>& b, index_t row, index_t col, index_t kc, index_t n, index_t nr, T* dst);

// Packs op(B)[row : row + kc, col : col + nc] into ceil(nc / nr) consecutive micro-panels
// (each kc * nr values); columns past nc in the last one are zero.
template <class T>
void pack_b(const MatrixView<T>& b, index_t row, index_t col, index_t kc, index_t nc, index_t nr, T* dst);

// Packs op(B) (k x n) transposed for the narrow-output kernel (narrow.hpp): row j of dst, at
// dst + j * ld, holds column j of op(B), then zeros from k up to ld.
template <class T>
void pack_b_transposed(const MatrixView<T>& b, index_t k, index_t n, index_t ld, T* dst);

}  // namespace fastnn
