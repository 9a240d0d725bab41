// The dense layer: y = dropout(act(x · w + b)) with bias, activation and dropout fused into
// the GEMM's epilogue, and its backward pass.
#pragma once

#include <cstdint>

#include "../gemm/gemm.hpp"
#include "activation.hpp"
#include "dropout.hpp"

namespace fastnn {

template <class T>
struct LinearParams {
  const T* bias = nullptr;   // (n,), or null
  Activation activation = Activation::identity;
  T alpha = T(0.01);         // leaky_relu's slope for v < 0
  DropoutParams dropout;     // element (i, j) of y sits at position dropout.offset + i * n + j
};

// x: (m, k) strided, w: (k, n) strided, y: (m, n) row-major with row stride rs_y. With x_source,
// x's blocks come from it instead (x is not read).
template <class T>
void linear_forward(index_t m, index_t k, index_t n, const MatrixView<T>& x, const MatrixView<T>& w, T* y,
                    index_t rs_y, const LinearParams<T>& params, const PackSource<T>* x_source = nullptr);

// Given dy and the forward output y (both (m, n), contiguous; y may be null only for the
// identity activation), writes dx = g · wᵀ (m, k), dw = xᵀ · g (k, n) and db = Σ_rows g (n,),
// where g = dy ⊙ mask/(1 - rate) ⊙ act'(y) — the mask regenerated from the dropout stream.
// dx, dw, db are contiguous; dx may be null when the input's gradient is not needed. With
// xt_source, dw's operand xᵀ comes from it instead (x is not read).
template <class T>
void linear_backward(index_t m, index_t k, index_t n, const T* dy, const MatrixView<T>& x, const MatrixView<T>& w,
                     const T* y, T* dx, T* dw, T* db, const LinearParams<T>& params,
                     const PackSource<T>* xt_source = nullptr);

}  // namespace fastnn
