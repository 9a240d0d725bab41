// Portable reference micro-kernels: plain C++ that builds on any CPU and that the compiler
// may vectorize for the baseline ISA. Same contract as every other micro-kernel (ukernel.hpp).
#include "ukernel.hpp"

namespace fastnn::generic {
namespace {

template <class T, int MR, int NR>
void gemm_ukernel(index_t k, const T* a, index_t rs_a, index_t cs_a, const T* b, index_t rs_b, T* c, index_t rs_c,
                  int m, int n, bool accumulate) {
  T acc[MR][NR] = {};
  for (index_t p = 0; p < k; ++p, a += cs_a, b += rs_b) {
    for (int i = 0; i < MR; ++i) {
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i * rs_a] * b[j];
    }
  }
  for (int i = 0; i < m; ++i) {
    T* row = c + i * rs_c;
    for (int j = 0; j < n; ++j) row[j] = accumulate ? row[j] + acc[i][j] : acc[i][j];
  }
}

}  // namespace

void sgemm_ukernel_4x8(index_t k, const float* a, index_t rs_a, index_t cs_a, const float* b, index_t rs_b, float* c,
                       index_t rs_c, int m, int n, bool accumulate) {
  gemm_ukernel<float, 4, 8>(k, a, rs_a, cs_a, b, rs_b, c, rs_c, m, n, accumulate);
}

void dgemm_ukernel_4x4(index_t k, const double* a, index_t rs_a, index_t cs_a, const double* b, index_t rs_b,
                       double* c, index_t rs_c, int m, int n, bool accumulate) {
  gemm_ukernel<double, 4, 4>(k, a, rs_a, cs_a, b, rs_b, c, rs_c, m, n, accumulate);
}

}  // namespace fastnn::generic
