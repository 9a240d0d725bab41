// Narrow-output kernels for AVX2 + FMA, float32 and float64. Contract: narrow.hpp. Compiled
// with -mavx2 -mfma only, so no standard-library templates here: an out-of-line copy of one
// could be the one the linker keeps for baseline code too.
#include <immintrin.h>

#include "narrow.hpp"

namespace fastnn::avx2 {
namespace {

template <class T>
struct Lanes;

template <>
struct Lanes<float> {
  using V = __m256;
  static constexpr int width = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load_aligned(const float* p) { return _mm256_load_ps(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // The first r (0 < r < 8) values at p and zeros: nothing past them is read.
  static V load_first(const float* p, int r) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_maskload_ps(p, mask);
  }
  // out[s] = the sum of the lanes of v[s], s < 4: for each vector ((0+1)+(2+3))+((4+5)+(6+7)),
  // whichever vectors it is summed beside.
  static void sum4(V v0, V v1, V v2, V v3, float* out) {
    const V sums = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(sums), _mm256_extractf128_ps(sums, 1)));
  }
};

template <>
struct Lanes<double> {
  using V = __m256d;
  static constexpr int width = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static V load_aligned(const double* p) { return _mm256_load_pd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V load_first(const double* p, int r) {
    const __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(r), _mm256_setr_epi64x(0, 1, 2, 3));
    return _mm256_maskload_pd(p, mask);
  }
  // out[s] = (0+1)+(2+3) over the lanes of v[s].
  static void sum4(V v0, V v1, V v2, V v3, double* out) {
    const V pairs01 = _mm256_hadd_pd(v0, v1), pairs23 = _mm256_hadd_pd(v2, v3);
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_permute2f128_pd(pairs01, pairs23, 0x20),
                                        _mm256_permute2f128_pd(pairs01, pairs23, 0x31)));
  }
};

// One R x S block of C: R rows of A against S rows of Bt, one accumulator vector per element.
// R x S accumulators + R rows + one Bt vector fit the 16 YMM registers for the (R, S) used.
template <class T, int R, int S>
void dot_tile(index_t k, const T* a, index_t rs_a, const T* bt, index_t ld_bt, T* c, index_t rs_c) {
  using L = Lanes<T>;
  using V = typename L::V;
  V acc[R][S];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) acc[r][s] = L::zero();
  }
  auto step = [&](const V (&x)[R], index_t p) {
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) {
      const V w = L::load_aligned(bt + s * ld_bt + p);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][s] = L::fma(x[r], w, acc[r][s]);
    }
  };
  index_t p = 0;
  for (; p + L::width <= k; p += L::width) {
    V x[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) x[r] = L::load(a + r * rs_a + p);
    step(x, p);
  }
  if (p < k) {  // the last k % width steps, in the same lanes; Bt is zero past k
    V x[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) x[r] = L::load_first(a + r * rs_a + p, static_cast<int>(k - p));
    step(x, p);
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    V padded[4] = {L::zero(), L::zero(), L::zero(), L::zero()};  // sum4 takes four
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) padded[s] = acc[r][s];
    T sums[4];
    L::sum4(padded[0], padded[1], padded[2], padded[3], sums);
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) c[r * rs_c + s] = sums[s];
  }
}

// Rows [0, m) against S rows of Bt: R rows at a time, then the rest in one smaller tile.
template <class T, int S, int R>
void dot_rows(index_t m, index_t k, const T* a, index_t rs_a, const T* bt, index_t ld_bt, T* c, index_t rs_c) {
  index_t i = 0;
  for (; i + R <= m; i += R) dot_tile<T, R, S>(k, a + i * rs_a, rs_a, bt, ld_bt, c + i * rs_c, rs_c);
  if constexpr (R > 1) {
    if (i < m) dot_rows<T, S, R - 1>(m - i, k, a + i * rs_a, rs_a, bt, ld_bt, c + i * rs_c, rs_c);
  }
}

// Up to kNarrowGroupColumns (4) columns form one group swept down all rows, with taller tiles
// where there are fewer accumulators per row (one A load per row feeds S multiply-adds: R = 6
// keeps a single column from waiting on loads). Wider outputs go three rows at a time across
// groups of two to four columns, so the three rows of A stay in L1 while every group reads them.
static_assert(kNarrowGroupColumns == 4, "narrow() has one case per group width");
template <class T>
void narrow(index_t m, index_t n, index_t k, const T* a, index_t rs_a, const T* bt, index_t ld_bt, T* c,
            index_t rs_c) {
  switch (n) {
    case 1: return dot_rows<T, 1, 6>(m, k, a, rs_a, bt, ld_bt, c, rs_c);
    case 2: return dot_rows<T, 2, 4>(m, k, a, rs_a, bt, ld_bt, c, rs_c);
    case 3: return dot_rows<T, 3, 3>(m, k, a, rs_a, bt, ld_bt, c, rs_c);
    case 4: return dot_rows<T, 4, 3>(m, k, a, rs_a, bt, ld_bt, c, rs_c);
    default: break;
  }
  const index_t groups = (n + 3) / 4;
  for (index_t i = 0; i < m; i += 3) {
    const index_t rows = m - i < 3 ? m - i : 3;
    const T* a_rows = a + i * rs_a;
    for (index_t g = 0, j = 0; g < groups; ++g) {
      const index_t width = (n - j + groups - g - 1) / (groups - g);  // 2 to 4, as even as possible
      const T* bt_rows = bt + j * ld_bt;
      T* c_block = c + i * rs_c + j;
      switch (width) {
        case 2: dot_rows<T, 2, 3>(rows, k, a_rows, rs_a, bt_rows, ld_bt, c_block, rs_c); break;
        case 3: dot_rows<T, 3, 3>(rows, k, a_rows, rs_a, bt_rows, ld_bt, c_block, rs_c); break;
        default: dot_rows<T, 4, 3>(rows, k, a_rows, rs_a, bt_rows, ld_bt, c_block, rs_c); break;
      }
      j += width;
    }
  }
}

}  // namespace

void sgemm_narrow(index_t m, index_t n, index_t k, const float* a, index_t rs_a, const float* bt, index_t ld_bt,
                  float* c, index_t rs_c) {
  narrow<float>(m, n, k, a, rs_a, bt, ld_bt, c, rs_c);
}

void dgemm_narrow(index_t m, index_t n, index_t k, const double* a, index_t rs_a, const double* bt, index_t ld_bt,
                  double* c, index_t rs_c) {
  narrow<double>(m, n, k, a, rs_a, bt, ld_bt, c, rs_c);
}

}  // namespace fastnn::avx2
