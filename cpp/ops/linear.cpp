#include "linear.hpp"

#include <algorithm>
#include <stdexcept>

#include "../gemm/gemm.hpp"
#include "../parallel.hpp"
#include "../rng/random_bits.hpp"

namespace fastnn {

namespace {

constexpr index_t kSegment = 256;  // columns handled per step: their draws fit on the stack

// The n_total-wide position of C(row, col) in the dropout stream.
std::uint64_t position_of(const DropoutParams& dropout, index_t n_total, index_t row, index_t col) {
  return dropout.offset + std::uint64_t(row) * std::uint64_t(n_total) + std::uint64_t(col);
}

template <class T>
struct EpilogueContext {
  const LinearParams<T>* params;
  index_t n_total;
};

// bias + activation on one finished tile of y, while it is still in L1. One instantiation per
// activation, with the activation inline: the tile's rows are short (NR values), so per-row
// calls would cost more than the work.
template <class T, Activation A>
void linear_epilogue(const void* context, T* c, index_t rs_c, index_t, index_t col, index_t m, index_t n) {
  const auto& ctx = *static_cast<const EpilogueContext<T>*>(context);
  const LinearParams<T>& p = *ctx.params;
  const T alpha = p.alpha;
  for (index_t i = 0; i < m; ++i) {
    T* y = c + i * rs_c;
    if (p.bias) {
      const T* bias = p.bias + col;
      for (index_t j = 0; j < n; ++j) y[j] = activate<A>(y[j] + bias[j], alpha);
    } else if constexpr (A != Activation::identity) {
      for (index_t j = 0; j < n; ++j) y[j] = activate<A>(y[j], alpha);
    }
  }
}

template <class T>
auto epilogue_for(Activation act) {
  switch (act) {
    case Activation::relu: return &linear_epilogue<T, Activation::relu>;
    case Activation::leaky_relu: return &linear_epilogue<T, Activation::leaky_relu>;
    case Activation::sigmoid: return &linear_epilogue<T, Activation::sigmoid>;
    case Activation::tanh: return &linear_epilogue<T, Activation::tanh>;
    default: return &linear_epilogue<T, Activation::identity>;
  }
}

// Dropout on a finished cache block of y (after bias and activation), row by row: the draws of
// a row's kSegment values come in one batch, where a tile's rows of NR values each paid a short
// batch's full cost (measured: 2.5 ns per element at (128, 784, 512), one thread).
template <class T>
void dropout_block(const void* context, T* c, index_t rs_c, index_t row, index_t col, index_t m, index_t n) {
  const auto& ctx = *static_cast<const EpilogueContext<T>*>(context);
  const DropoutParams& dropout = ctx.params->dropout;
  const T scale = T(dropout.keep_scale);
  std::uint32_t words[kSegment];
  for (index_t i = 0; i < m; ++i) {
    for (index_t start = 0; start < n; start += kSegment) {
      const index_t length = std::min(kSegment, n - start);
      T* segment = c + i * rs_c + start;
      random_words(dropout.seed, position_of(dropout, ctx.n_total, row + i, col + start), length, words);
      apply_dropout(words, segment, segment, length, dropout.threshold, scale);
    }
  }
}

// The backward sweep over dy works on blocks of rows x columns: g = dy ⊙ mask/(1 - rate) ⊙
// act'(y / scale) (unless g is null: then g is dy itself) and the block's column sums of g, each
// row segment summed while it is still in L1. Rows per block depend on the shapes alone, and the
// blocks' sums are added in block order, so db does not depend on the thread count; blocks of
// rows let many rows with few columns (1x1 convolutions, a 10-way output layer) use every thread.
index_t sweep_rows_per_block(index_t n) { return std::max<index_t>(16, (index_t{1} << 15) / std::max<index_t>(n, 1)); }

template <class T>
void gradient_and_bias_block(index_t row_begin, index_t row_end, index_t col_begin, index_t col_end, index_t n,
                             const T* dy, const T* y, T* g, T* sums, const LinearParams<T>& p) {
  const bool dropout = p.dropout.enabled();
  const T scale = T(p.dropout.keep_scale);
  const T keep_probability = dropout ? T(1.0 / p.dropout.keep_scale) : T(1);  // undoes the kept outputs' scale
  std::uint32_t words[kSegment];
  std::fill(sums + col_begin, sums + col_end, T(0));
  for (index_t i = row_begin; i < row_end; ++i) {
    for (index_t start = col_begin; start < col_end; start += kSegment) {
      const index_t length = std::min(kSegment, col_end - start);
      const index_t at = i * n + start;
      const T* row = dy + at;
      if (g) {
        if (dropout) {
          random_words(p.dropout.seed, position_of(p.dropout, n, i, start), length, words);
          apply_dropout(words, dy + at, g + at, length, p.dropout.threshold, scale);
        } else {
          std::copy(dy + at, dy + at + length, g + at);
        }
        if (y) multiply_by_derivative(g + at, y + at, length, p.activation, p.alpha, keep_probability);
        row = g + at;
      }
      T* block_sums = sums + start;
      for (index_t j = 0; j < length; ++j) block_sums[j] += row[j];
    }
  }
}

// g (see above) and db = Σ_i g[i, :] in one pass over dy.
template <class T>
void gradient_and_bias(index_t m, index_t n, const T* dy, const T* y, T* g, T* db, const LinearParams<T>& p,
                       AlignedBuffer& partial_workspace) {
  if (m <= 0 || n <= 0) {
    std::fill(db, db + std::max<index_t>(n, 0), T(0));
    return;
  }
  const index_t rows_per_block = sweep_rows_per_block(n), row_blocks = ceil_div(m, rows_per_block);
  const index_t col_blocks = ceil_div(n, kSegment);
  // One row block sums straight into db; more keep their sums apart until the ordered merge.
  T* partial = row_blocks == 1 ? db : partial_workspace.reserve_as<T>(std::size_t(row_blocks * n));
  const index_t task_size = rows_per_block * std::min(n, kSegment);
  parallel_for(row_blocks * col_blocks, std::max<index_t>(1, (index_t{1} << 15) / task_size), [&](index_t begin, index_t end) {
    for (index_t task = begin; task < end; ++task) {
      const index_t rb = task / col_blocks, cb = task % col_blocks;
      gradient_and_bias_block(rb * rows_per_block, std::min(m, (rb + 1) * rows_per_block), cb * kSegment,
                              std::min(n, (cb + 1) * kSegment), n, dy, y, g, partial + rb * n, p);
    }
  });
  if (row_blocks == 1) return;
  parallel_for(n, 1024, [&](index_t begin, index_t end) {
    for (index_t j = begin; j < end; ++j) {
      T total = partial[j];
      for (index_t rb = 1; rb < row_blocks; ++rb) total += partial[rb * n + j];
      db[j] = total;
    }
  });
}

thread_local AlignedBuffer gradient_workspace, partial_sums_workspace;

}  // namespace

template <class T>
void linear_forward(index_t m, index_t k, index_t n, const MatrixView<T>& x, const MatrixView<T>& w, T* y,
                    index_t rs_y, const LinearParams<T>& params, const PackSource<T>* x_source) {
  const EpilogueContext<T> context{&params, n};
  const bool per_tile = params.bias || params.activation != Activation::identity;
  const TileEpilogue<T> epilogue{per_tile ? epilogue_for<T>(params.activation) : nullptr, &context,
                                 params.dropout.enabled() ? &dropout_block<T> : nullptr};
  const bool needs_epilogue = per_tile || params.dropout.enabled();
  gemm<T>(GemmProblem<T>{m, n, k, x, w, y, rs_y, x_source}, needs_epilogue ? &epilogue : nullptr);
}

template <class T>
void linear_backward(index_t m, index_t k, index_t n, const T* dy, const MatrixView<T>& x, const MatrixView<T>& w,
                     const T* y, T* dx, T* dw, T* db, const LinearParams<T>& params,
                     const PackSource<T>* xt_source) {
  if (!y && params.activation != Activation::identity) {
    throw std::invalid_argument("linear_backward needs the forward output y for activation != identity");
  }
  // g is dy itself when there is nothing to apply: the sweep then only sums the columns.
  T* g = nullptr;
  if (params.activation != Activation::identity || params.dropout.enabled()) {
    g = gradient_workspace.reserve_as<T>(std::size_t(std::max<index_t>(m * n, 1)));
  }
  gradient_and_bias(m, n, dy, y, g, db, params, partial_sums_workspace);
  const MatrixView<T> g_view{g ? g : dy, n, 1};
  // dx = g · wᵀ: (m, n) · (n, k)
  if (dx) gemm<T>(GemmProblem<T>{m, k, n, g_view, MatrixView<T>{w.data, w.cs, w.rs}, dx, k});
  // dw = xᵀ · g: (k, m) · (m, n)
  gemm<T>(GemmProblem<T>{k, n, m, MatrixView<T>{x.data, x.cs, x.rs}, g_view, dw, n, xt_source});
}

template void linear_forward<float>(index_t, index_t, index_t, const MatrixView<float>&, const MatrixView<float>&,
                                    float*, index_t, const LinearParams<float>&, const PackSource<float>*);
template void linear_forward<double>(index_t, index_t, index_t, const MatrixView<double>&, const MatrixView<double>&,
                                     double*, index_t, const LinearParams<double>&, const PackSource<double>*);
template void linear_backward<float>(index_t, index_t, index_t, const float*, const MatrixView<float>&,
                                     const MatrixView<float>&, const float*, float*, float*, float*,
                                     const LinearParams<float>&, const PackSource<float>*);
template void linear_backward<double>(index_t, index_t, index_t, const double*, const MatrixView<double>&,
                                      const MatrixView<double>&, const double*, double*, double*, double*,
                                      const LinearParams<double>&, const PackSource<double>*);

}  // namespace fastnn
