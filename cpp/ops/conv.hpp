// N-D convolution, channels last: 1, 2 or 3 spatial dimensions, all handled as 3 (a missing
// dimension has size 1, kernel 1, stride 1). The forward product and both backward products run
// through the packed GEMM of ops.linear on the patch matrix (im2col), so bias and activation come
// from the GEMM's epilogue. The GEMM gathers the patches block by block as it needs them
// (packed, or read in place where gemm_reads_rows says so); a few products store them a chunk
// of samples at a time instead (conv.cpp says which).
//
//   x: (batch, in[0], in[1], in[2], channels)        w: (kernel[0..2], channels, filters)
//   y: (batch, out[0], out[1], out[2], filters)
//   y[n, o, f] = act(b[f] + Σ_{q, c} x[n, o * stride + q * dilation - pad, c] · w[q, c, f])
//
// with input positions outside [0, in) reading zero (the padding).
#pragma once

#include "../common.hpp"
#include "activation.hpp"

namespace fastnn {

struct ConvGeometry {
  index_t batch = 0, channels = 0, filters = 0;
  index_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1};
  index_t stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, pad[3] = {0, 0, 0};  // pad: before

  index_t in_positions() const { return in[0] * in[1] * in[2]; }
  index_t out_positions() const { return out[0] * out[1] * out[2]; }
  index_t kernel_positions() const { return kernel[0] * kernel[1] * kernel[2]; }
  index_t patch_size() const { return kernel_positions() * channels; }  // a row of the patch matrix
};

// y = act(conv(x, w) + b); b may be null.
template <class T>
void conv_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, Activation activation, T alpha, T* y);

// With g = dy ⊙ act'(y) (y may be null for the identity): dx (skipped when null), dw and db.
template <class T>
void conv_backward(const ConvGeometry& geometry, const T* dy, const T* x, const T* w, const T* y,
                   Activation activation, T alpha, T* dx, T* dw, T* db);

}  // namespace fastnn
