#include "pack.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fastnn {
namespace {

// dst[p * W + i] = src[i * ld + p] for i < W, p < kc: W rows, each contiguous along k, become
// kc packed rows of W values. This is the packing of a row-major A panel and of a transposed
// B panel (W^T in dX = dY W^T). SSE2 (every x86-64) transposes 4 x 4 float or 2 x 2 double
// blocks in registers instead of gathering one element at a time (packing W^T fell from 11% to
// 7% of a dX product's profile); even W that is not a multiple of 4 (MR = 6, 14) ends with a
// pair of rows. transpose_row_blocks does the whole 4 (float) or 2 (double) steps of k and
// returns how many it did; transpose_rows finishes the rest one element at a time.
#if defined(__SSE2__)
template <int W>
index_t transpose_row_blocks(const float* src, index_t ld, index_t kc, float* dst) {
  index_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    const float* s = src + p;
    float* d = dst + p * W;
    int i = 0;
    for (; i + 4 <= W; i += 4) {
      __m128 r0 = _mm_loadu_ps(s + (i + 0) * ld), r1 = _mm_loadu_ps(s + (i + 1) * ld);
      __m128 r2 = _mm_loadu_ps(s + (i + 2) * ld), r3 = _mm_loadu_ps(s + (i + 3) * ld);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(d + i, r0);
      _mm_storeu_ps(d + W + i, r1);
      _mm_storeu_ps(d + 2 * W + i, r2);
      _mm_storeu_ps(d + 3 * W + i, r3);
    }
    if (W - i == 2) {
      const __m128 r0 = _mm_loadu_ps(s + i * ld), r1 = _mm_loadu_ps(s + (i + 1) * ld);
      const __m128 low = _mm_unpacklo_ps(r0, r1), high = _mm_unpackhi_ps(r0, r1);
      _mm_storel_pi(reinterpret_cast<__m64*>(d + i), low);
      _mm_storeh_pi(reinterpret_cast<__m64*>(d + W + i), low);
      _mm_storel_pi(reinterpret_cast<__m64*>(d + 2 * W + i), high);
      _mm_storeh_pi(reinterpret_cast<__m64*>(d + 3 * W + i), high);
      i += 2;
    }
    for (; i < W; ++i) {
      for (int q = 0; q < 4; ++q) d[q * W + i] = s[i * ld + q];
    }
  }
  return p;
}

template <int W>
index_t transpose_row_blocks(const double* src, index_t ld, index_t kc, double* dst) {
  index_t p = 0;
  for (; p + 2 <= kc; p += 2) {
    const double* s = src + p;
    double* d = dst + p * W;
    int i = 0;
    for (; i + 2 <= W; i += 2) {
      const __m128d r0 = _mm_loadu_pd(s + i * ld), r1 = _mm_loadu_pd(s + (i + 1) * ld);
      _mm_storeu_pd(d + i, _mm_unpacklo_pd(r0, r1));
      _mm_storeu_pd(d + W + i, _mm_unpackhi_pd(r0, r1));
    }
    for (; i < W; ++i) {
      d[i] = s[i * ld];
      d[W + i] = s[i * ld + 1];
    }
  }
  return p;
}
#else
template <int W, class T>
index_t transpose_row_blocks(const T*, index_t, index_t, T*) {
  return 0;  // no SSE2: every step one element at a time
}
#endif

template <int W, class T>
void transpose_rows(const T* src, index_t ld, index_t kc, T* dst) {
  for (index_t p = transpose_row_blocks<W>(src, ld, kc, dst); p < kc; ++p) {
    for (int i = 0; i < W; ++i) dst[p * W + i] = src[i * ld + p];
  }
}

// A full micro-panel with MR known at compile time: the copies of one k step unroll into MR
// straight loads and stores, and the panel is written front to back (about twice the speed of
// the general loops below, which matters where each packed value feeds only a few tiles).
template <int MR, class T>
void pack_full_a_panel(const T* src, index_t rs, index_t cs, index_t kc, T* dst) {
  if (cs == 1) {  // row-major A: MR rows, each contiguous along k
    transpose_rows<MR>(src, rs, kc, dst);
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
// per k step from a row-major B, a transpose of NR rows from a transposed one (W^T in
// dX = dY W^T), else NR strided read streams.
template <int NR, class T>
void pack_full_b_panel(const T* src, index_t rs, index_t cs, index_t kc, T* dst) {
  if (cs == 1) {
    for (index_t p = 0; p < kc; ++p, dst += NR) std::memcpy(dst, src + p * rs, sizeof(T) * NR);
  } else if (rs == 1) {
    transpose_rows<NR>(src, cs, kc, dst);
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

template <class T>
void pack_b_transposed(const MatrixView<T>& b, index_t k, index_t n, index_t ld, T* dst) {
  if (b.cs == 1) {
    // Row-major B (a layer's weights): 16 short rows at a time, each destination row written
    // 16 values (a cache line of float32) at once. Writing one value to each of n rows per
    // source row instead missed L1 on every store when ld is a multiple of 4 KiB (all n rows
    // then share one set): (1, 4096, 10) took twice the time of the tiles' product.
    constexpr index_t kStep = 16;
    for (index_t p0 = 0; p0 < k; p0 += kStep) {
      const index_t steps = std::min(kStep, k - p0);
      const T* rows = b.data + p0 * b.rs;
      for (index_t j = 0; j < n; ++j) {
        T* out = dst + j * ld + p0;
        for (index_t p = 0; p < steps; ++p) out[p] = rows[p * b.rs + j];
      }
    }
  } else {  // columns contiguous (a transposed B) or general strides: one column at a time
    for (index_t j = 0; j < n; ++j) {
      const T* column = b.data + j * b.cs;
      for (index_t p = 0; p < k; ++p) dst[j * ld + p] = column[p * b.rs];
    }
  }
  for (index_t j = 0; j < n; ++j) std::fill(dst + j * ld + k, dst + (j + 1) * ld, T(0));
}

template void pack_a<float>(const MatrixView<float>&, index_t, index_t, index_t, index_t, index_t, float*);
template void pack_a<double>(const MatrixView<double>&, index_t, index_t, index_t, index_t, index_t, double*);
template void pack_b_panel<float>(const MatrixView<float>&, index_t, index_t, index_t, index_t, index_t, float*);
template void pack_b_panel<double>(const MatrixView<double>&, index_t, index_t, index_t, index_t, index_t, double*);
template void pack_b<float>(const MatrixView<float>&, index_t, index_t, index_t, index_t, index_t, float*);
template void pack_b<double>(const MatrixView<double>&, index_t, index_t, index_t, index_t, index_t, double*);
template void pack_b_transposed<float>(const MatrixView<float>&, index_t, index_t, index_t, float*);
template void pack_b_transposed<double>(const MatrixView<double>&, index_t, index_t, index_t, double*);

}  // namespace fastnn
