#include "pack.hpp"

#include <algorithm>
#include <cstring>

namespace fastnn {
namespace {

// A full micro-panel with MR known at compile time: the copies of one k step unroll into MR
// straight loads and stores, and the panel is written front to back (about twice the speed of
// the general loops below, which matters where each packed value feeds only a few tiles).
template <int MR, class T>
void pack_full_a_panel(const T* src, index_t rs, index_t cs, index_t kc, T* dst) {
  if (cs == 1) {  // row-major A: MR read streams, one contiguous write stream
    const T* rows[MR];
    for (int i = 0; i < MR; ++i) rows[i] = src + i * rs;
    for (index_t p = 0; p < kc; ++p, dst += MR) {
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) dst[i] = rows[i][p];
    }
  } else if (rs == 1) {  // transposed A (X^T in dW = X^T dY): one contiguous MR-wide copy per k step
    for (index_t p = 0; p < kc; ++p, dst += MR) std::memcpy(dst, src + p * cs, sizeof(T) * MR);
  } else {
    for (index_t p = 0; p < kc; ++p, dst += MR) {
      const T* column = src + p * cs;
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) dst[i] = column[i * rs];
    }
  }
}

// The compile-time version for the micro-kernels' MR (4, 6, 14), else false.
template <class T>
bool pack_full_a_panel(index_t mr, const T* src, index_t rs, index_t cs, index_t kc, T* dst) {
  switch (mr) {
    case 4: pack_full_a_panel<4>(src, rs, cs, kc, dst); return true;
    case 6: pack_full_a_panel<6>(src, rs, cs, kc, dst); return true;
    case 14: pack_full_a_panel<14>(src, rs, cs, kc, dst); return true;
    default: return false;
  }
}

// A full B micro-panel with NR known at compile time, written front to back: one NR-wide copy
// per k step from a row-major B, else NR read streams (a transposed B: W^T in dX = dY W^T),
// about 3x faster than filling the panel one column at a time.
template <int NR, class T>
void pack_full_b_panel(const T* src, index_t rs, index_t cs, index_t kc, T* dst) {
  if (cs == 1) {
    for (index_t p = 0; p < kc; ++p, dst += NR) std::memcpy(dst, src + p * rs, sizeof(T) * NR);
  } else {
    const T* columns[NR];
    for (int j = 0; j < NR; ++j) columns[j] = src + j * cs;
    for (index_t p = 0; p < kc; ++p, dst += NR) {
#pragma GCC unroll 32
      for (int j = 0; j < NR; ++j) dst[j] = columns[j][p * rs];
    }
  }
}

// The compile-time version for the micro-kernels' NR (4, 8, 16, 32), else false.
template <class T>
bool pack_full_b_panel(index_t nr, const T* src, index_t rs, index_t cs, index_t kc, T* dst) {
  switch (nr) {
    case 4: pack_full_b_panel<4>(src, rs, cs, kc, dst); return true;
    case 8: pack_full_b_panel<8>(src, rs, cs, kc, dst); return true;
    case 16: pack_full_b_panel<16>(src, rs, cs, kc, dst); return true;
    case 32: pack_full_b_panel<32>(src, rs, cs, kc, dst); return true;
    default: return false;
  }
}

// The full panels of a row-major B block, swept row by row: each of the kc rows is read once,
// front to back, and its NR-wide pieces go to their panels. Reading panel by panel instead
// touches a new cache line every k step at a stride of a whole row, which the prefetchers do
// not follow: measured 0.13 against 0.28 ns per element (784 x 512, from L3).
template <int NR, class T>
void pack_b_rows(const T* src, index_t rs, index_t kc, index_t panels, T* dst) {
  for (index_t p = 0; p < kc; ++p) {
    const T* row = src + p * rs;
    T* out = dst + p * NR;
    for (index_t panel = 0; panel < panels; ++panel, row += NR, out += kc * NR) std::memcpy(out, row, sizeof(T) * NR);
  }
}

template <class T>
bool pack_b_rows(index_t nr, const T* src, index_t rs, index_t kc, index_t panels, T* dst) {
  switch (nr) {
    case 4: pack_b_rows<4>(src, rs, kc, panels, dst); return true;
    case 8: pack_b_rows<8>(src, rs, kc, panels, dst); return true;
    case 16: pack_b_rows<16>(src, rs, kc, panels, dst); return true;
    case 32: pack_b_rows<32>(src, rs, kc, panels, dst); return true;
    default: return false;
  }
}

}  // namespace

template <class T>
void pack_a(const MatrixView<T>& a, index_t row, index_t col, index_t mc, index_t kc, index_t mr, T* dst) {
  for (index_t panel = 0; panel < mc; panel += mr, dst += mr * kc) {
    const index_t rows = std::min(mr, mc - panel);
    const T* src = a.data + (row + panel) * a.rs + col * a.cs;
    if (rows == mr && pack_full_a_panel(mr, src, a.rs, a.cs, kc, dst)) continue;
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
  if (n == nr && pack_full_b_panel(nr, src, b.rs, b.cs, kc, dst)) return;
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

template <class T>
void pack_b(const MatrixView<T>& b, index_t row, index_t col, index_t kc, index_t nc, index_t nr, T* dst) {
  index_t full = b.cs == 1 ? nc / nr : 0;
  if (full > 0 && !pack_b_rows(nr, b.data + row * b.rs + col, b.rs, kc, full, dst)) full = 0;
  for (index_t j = full * nr; j < nc; j += nr) pack_b_panel(b, row, col + j, kc, std::min(nr, nc - j), nr, dst + j * kc);
}

template void pack_a<float>(const MatrixView<float>&, index_t, index_t, index_t, index_t, index_t, float*);
template void pack_a<double>(const MatrixView<double>&, index_t, index_t, index_t, index_t, index_t, double*);
template void pack_b_panel<float>(const MatrixView<float>&, index_t, index_t, index_t, index_t, index_t, float*);
template void pack_b_panel<double>(const MatrixView<double>&, index_t, index_t, index_t, index_t, index_t, double*);
template void pack_b<float>(const MatrixView<float>&, index_t, index_t, index_t, index_t, index_t, float*);
template void pack_b<double>(const MatrixView<double>&, index_t, index_t, index_t, index_t, index_t, double*);

}  // namespace fastnn
