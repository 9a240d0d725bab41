#include "pack.hpp"

#include <algorithm>

namespace fastnn {

template <class T>
void pack_a(const MatrixView<T>& a, index_t row, index_t col, index_t mc, index_t kc, index_t mr, T* dst) {
  for (index_t panel = 0; panel < mc; panel += mr, dst += mr * kc) {
    const index_t rows = std::min(mr, mc - panel);
    const T* src = a.data + (row + panel) * a.rs + col * a.cs;
    if (a.cs == 1) {
      // Rows are contiguous along k: read each row once, scatter into the panel.
      for (index_t i = 0; i < rows; ++i) {
        const T* src_row = src + i * a.rs;
        for (index_t p = 0; p < kc; ++p) dst[p * mr + i] = src_row[p];
      }
    } else {
      // Columns are contiguous (transposed A) or both strides are general.
      for (index_t p = 0; p < kc; ++p) {
        const T* src_col = src + p * a.cs;
        for (index_t i = 0; i < rows; ++i) dst[p * mr + i] = src_col[i * a.rs];
      }
    }
    for (index_t i = rows; i < mr; ++i) {
      for (index_t p = 0; p < kc; ++p) dst[p * mr + i] = T(0);
    }
  }
}

template <class T>
void pack_b_panel(const MatrixView<T>& b, index_t row, index_t col, index_t kc, index_t n, index_t nr, T* dst) {
  const T* src = b.data + row * b.rs + col * b.cs;
  if (b.cs == 1) {
    // Rows of B are contiguous: one short copy per k.
    for (index_t p = 0; p < kc; ++p) {
      const T* src_row = src + p * b.rs;
      T* dst_row = dst + p * nr;
      for (index_t j = 0; j < n; ++j) dst_row[j] = src_row[j];
      for (index_t j = n; j < nr; ++j) dst_row[j] = T(0);
    }
  } else {
    // Columns are contiguous (transposed B) or both strides are general.
    for (index_t j = 0; j < n; ++j) {
      const T* src_col = src + j * b.cs;
      for (index_t p = 0; p < kc; ++p) dst[p * nr + j] = src_col[p * b.rs];
    }
    for (index_t p = 0; p < kc; ++p) {
      for (index_t j = n; j < nr; ++j) dst[p * nr + j] = T(0);
    }
  }
}

template void pack_a<float>(const MatrixView<float>&, index_t, index_t, index_t, index_t, index_t, float*);
template void pack_a<double>(const MatrixView<double>&, index_t, index_t, index_t, index_t, index_t, double*);
template void pack_b_panel<float>(const MatrixView<float>&, index_t, index_t, index_t, index_t, index_t, float*);
template void pack_b_panel<double>(const MatrixView<double>&, index_t, index_t, index_t, index_t, index_t, double*);

}  // namespace fastnn
