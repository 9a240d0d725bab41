#include "conv.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "../parallel.hpp"
#include "linear.hpp"

namespace fastnn {
namespace {

// Patch-matrix elements per chunk (4 MiB of float32) where P or its gradient is materialized: a
// chunk stays in L2/L3 between the products and gathers or scatters that use it. Whole samples
// per chunk, so col2im's threads own disjoint samples; the chunking depends on the shapes alone,
// never on the thread count.
constexpr index_t kChunkElements = index_t{1} << 20;

index_t samples_per_chunk(const ConvGeometry& g) {
  const index_t per_sample = std::max<index_t>(1, g.out_positions() * g.patch_size());
  const index_t most = std::clamp<index_t>(kChunkElements / per_sample, 1, std::max<index_t>(g.batch, 1));
  return ceil_div(g.batch, ceil_div(g.batch, most));  // equal chunks: 128 = 64 + 64, not 113 + 15
}

// A 1x1 kernel at stride 1 without padding: the patch matrix is x itself.
bool patches_are_input(const ConvGeometry& g) {
  for (int d = 0; d < 3; ++d) {
    if (g.kernel[d] != 1 || g.stride[d] != 1 || g.pad[d] != 0 || g.in[d] != g.out[d]) return false;
  }
  return true;
}

// Calls visit(kernel_position, input_position or -1 when in the padding) for every kernel
// position of the output position (o0, o1, o2), in the patch row's order.
template <class Visit>
void for_each_tap(const ConvGeometry& g, index_t o0, index_t o1, index_t o2, Visit&& visit) {
  index_t tap = 0;
  for (index_t q0 = 0; q0 < g.kernel[0]; ++q0) {
    const index_t i0 = o0 * g.stride[0] + q0 * g.dilation[0] - g.pad[0];
    for (index_t q1 = 0; q1 < g.kernel[1]; ++q1) {
      const index_t i1 = o1 * g.stride[1] + q1 * g.dilation[1] - g.pad[1];
      for (index_t q2 = 0; q2 < g.kernel[2]; ++q2, ++tap) {
        const index_t i2 = o2 * g.stride[2] + q2 * g.dilation[2] - g.pad[2];
        const bool inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1] && i2 >= 0 && i2 < g.in[2];
        visit(tap, inside ? (i0 * g.in[1] + i1) * g.in[2] + i2 : index_t{-1});
      }
    }
  }
}

// Output position `row` of the chunk -> its sample and coordinates. Loops over consecutive rows
// divide once and then step with next(): four divisions per row took a quarter of the gathering
// of a small CNN's patches.
struct OutputPosition {
  index_t sample, o0, o1, o2;

  void next(const ConvGeometry& g) {
    if (++o2 < g.out[2]) return;
    o2 = 0;
    if (++o1 < g.out[1]) return;
    o1 = 0;
    if (++o0 < g.out[0]) return;
    o0 = 0;
    ++sample;
  }
};
OutputPosition output_position(const ConvGeometry& g, index_t row) {
  const index_t positions = g.out_positions();
  const index_t sample = row / positions, rest = row % positions;
  return {sample, rest / (g.out[1] * g.out[2]), rest / g.out[2] % g.out[1], rest % g.out[2]};
}

// One patch row: out[tap * C + c] = x[input position of (o, tap), c], 0 in the padding. The
// taps along the last dimension read one contiguous run of the input at dilation 1, copied at
// once (C is 1 in a first layer: a call per tap would copy 4 bytes each).
template <class T>
void gather_patch_row(const ConvGeometry& g, const T* sample, index_t o0, index_t o1, index_t o2, T* out) {
  const index_t c = g.channels, k2 = g.kernel[2], run = k2 * c;
  const index_t first = o2 * g.stride[2] - g.pad[2];  // the input index of tap q2 = 0
  for (index_t q0 = 0; q0 < g.kernel[0]; ++q0) {
    const index_t i0 = o0 * g.stride[0] + q0 * g.dilation[0] - g.pad[0];
    for (index_t q1 = 0; q1 < g.kernel[1]; ++q1, out += run) {
      const index_t i1 = o1 * g.stride[1] + q1 * g.dilation[1] - g.pad[1];
      if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1]) {
        std::fill(out, out + run, T(0));
        continue;
      }
      const T* line = sample + (i0 * g.in[1] + i1) * g.in[2] * c;
      if (g.dilation[2] == 1) {  // taps [lo, hi) are inside: one run
        const index_t lo = std::clamp<index_t>(-first, 0, k2), hi = std::max(lo, std::clamp<index_t>(g.in[2] - first, 0, k2));
        std::fill(out, out + lo * c, T(0));
        std::memcpy(out + lo * c, line + (first + lo) * c, sizeof(T) * std::size_t((hi - lo) * c));
        std::fill(out + hi * c, out + run, T(0));
      } else {
        for (index_t q2 = 0; q2 < k2; ++q2) {
          const index_t i2 = first + q2 * g.dilation[2];
          if (i2 < 0 || i2 >= g.in[2]) {
            std::fill(out + q2 * c, out + (q2 + 1) * c, T(0));
          } else {
            std::memcpy(out + q2 * c, line + i2 * c, sizeof(T) * std::size_t(c));
          }
        }
      }
    }
  }
}

// The patch matrix P of x: row r is output position r (sample-major, as y's rows), column
// tap * C + c holds x[sample, input position of (r, tap), c], 0 in the padding. The GEMM gathers
// it block by block as it needs it (PackSource), packed or read in place, so x is read where a
// stored P would be written and read back at nine times x's size (a 3x3 kernel). It is stored,
// a chunk at a time, for the products where that measured faster (see conv_backward) and for a
// narrow output, which the GEMM computes transposed or with its narrow-output kernel.
template <class T>
struct PatchMatrix {
  const ConvGeometry& g;
  const T* x;
};

// The first tap of a block's columns: its line (q0, q1) and the column where that line's
// taps start (tap q2 = 0). Found once per block (three divisions) rather than per row.
struct FirstTap {
  index_t q0, q1, line_start;

  FirstTap(const ConvGeometry& g, index_t column) {
    const index_t tap = column / g.channels, line = tap / g.kernel[2];
    q0 = line / g.kernel[1];
    q1 = line % g.kernel[1];
    line_start = line * g.kernel[2] * g.channels;
  }
};

// Columns [begin, end) of P's row at output position o into out. A line of taps (q0, q1, all
// q2) reads adjacent input positions at dilation 1: its inside taps are one contiguous run of x.
template <class T>
void gather_patch_columns(const PatchMatrix<T>& p, const OutputPosition& o, const FirstTap& first, index_t begin,
                          index_t end, T* out) {
  const ConvGeometry& g = p.g;
  const index_t c = g.channels, k2 = g.kernel[2], line_width = k2 * c;
  const T* sample = p.x + o.sample * g.in_positions() * c;
  if (begin == 0 && end == g.patch_size()) {  // a whole row: gathered through the loop below, a
    return gather_patch_row(g, sample, o.o0, o.o1, o.o2, out);  // 16 -> 4 convolution took 1.06-1.12x
  }
  const index_t base2 = o.o2 * g.stride[2] - g.pad[2];  // the input index of tap q2 = 0
  index_t q0 = first.q0, q1 = first.q1;
  for (index_t column = begin, line_start = first.line_start; column < end; line_start += line_width) {
    const index_t stop = std::min(end, line_start + line_width);
    const index_t i0 = o.o0 * g.stride[0] + q0 * g.dilation[0] - g.pad[0];
    const index_t i1 = o.o1 * g.stride[1] + q1 * g.dilation[1] - g.pad[1];
    T* at = out + (column - begin);
    if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1]) {
      std::fill(at, at + (stop - column), T(0));
    } else {
      const T* line = sample + (i0 * g.in[1] + i1) * g.in[2] * c;
      if (g.dilation[2] == 1) {  // taps [lo, hi) are inside: columns [inside_begin, inside_end)
        const index_t lo = std::clamp<index_t>(-base2, 0, k2), hi = std::max(lo, std::clamp<index_t>(g.in[2] - base2, 0, k2));
        const index_t inside_begin = std::clamp(line_start + lo * c, column, stop);
        const index_t inside_end = std::clamp(line_start + hi * c, inside_begin, stop);
        std::fill(at, at + (inside_begin - column), T(0));
        std::memcpy(at + (inside_begin - column), line + base2 * c + (inside_begin - line_start),
                    sizeof(T) * std::size_t(inside_end - inside_begin));
        std::fill(at + (inside_end - column), at + (stop - column), T(0));
      } else {
        for (index_t tap_start = column / c * c; column < stop; tap_start += c) {
          const index_t run_end = std::min(stop, tap_start + c);
          const index_t i2 = base2 + (tap_start - line_start) / c * g.dilation[2];
          T* run = out + (column - begin);
          if (i2 < 0 || i2 >= g.in[2]) {
            std::fill(run, run + (run_end - column), T(0));
          } else {
            std::memcpy(run, line + i2 * c + (column - tap_start), sizeof(T) * std::size_t(run_end - column));
          }
          column = run_end;
        }
      }
    }
    column = stop;
    if (++q1 == g.kernel[1]) q1 = 0, ++q0;
  }
}

// Inputs with fewer channels than this (a first layer's grey or RGB images) have P stored by
// gather_patch_line: a patch row is then a few runs of 1-3 values, which cost more to find than
// to copy. Against the row-wise gathering (P gathered by the GEMM, or stored), interleaved on a
// Zen 3, 3x3 "same" to 16 filters: (128, 8, 8, 1) forward 0.75x the time, backward 0.86x;
// (128, 8, 8, 3) 0.91x and 0.95x; (64, 32, 32, 3) 0.79x and 0.90x (0.95x and 0.91x to 64 filters).
constexpr index_t kFewChannels = 4;

// The output positions along the last axis whose tap q2 reads inside the input: [lo, hi) of
// [0, out[2]) with 0 <= o2 * s2 + q2 * d2 - pad < in[2]. The same for every line of P.
struct InsideRun {
  index_t lo, hi;

  InsideRun(const ConvGeometry& g, index_t q2) {
    const index_t first = q2 * g.dilation[2] - g.pad[2], count = g.out[2], s2 = g.stride[2];
    lo = first >= 0 ? 0 : std::min(count, ceil_div(-first, s2));
    hi = std::clamp<index_t>(g.in[2] > first ? ceil_div(g.in[2] - first, s2) : 0, lo, count);
  }
};

// The rows of P for one line of output positions (o0, o1 fixed, o2 = 0 .. out[2] - 1), column
// by column: a tap's values down consecutive rows are x's values at stride s2.
template <class T>
void gather_patch_line(const ConvGeometry& g, const T* sample, index_t o0, index_t o1, const InsideRun* runs, T* out) {
  const index_t c = g.channels, width = g.patch_size(), count = g.out[2], step = g.stride[2] * c;
  index_t column = 0;
  for (index_t q0 = 0; q0 < g.kernel[0]; ++q0) {
    const index_t i0 = o0 * g.stride[0] + q0 * g.dilation[0] - g.pad[0];
    for (index_t q1 = 0; q1 < g.kernel[1]; ++q1) {
      const index_t i1 = o1 * g.stride[1] + q1 * g.dilation[1] - g.pad[1];
      const bool inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1];
      const T* line = sample + (inside ? (i0 * g.in[1] + i1) * g.in[2] * c : 0);
      for (index_t q2 = 0; q2 < g.kernel[2]; ++q2) {
        const index_t lo = inside ? runs[q2].lo : count, hi = inside ? runs[q2].hi : count;
        const index_t tap = (q2 * g.dilation[2] - g.pad[2]) * c;  // x's index at o2 = 0 (read from lo on)
        for (index_t channel = 0; channel < c; ++channel, ++column) {
          T* dst = out + column;
          for (index_t o2 = 0; o2 < lo; ++o2) dst[o2 * width] = T(0);
          for (index_t o2 = lo; o2 < hi; ++o2) dst[o2 * width] = line[tap + o2 * step + channel];
          for (index_t o2 = hi; o2 < count; ++o2) dst[o2 * width] = T(0);
        }
      }
    }
  }
}

// P materialized: rows [0, rows) of the patch matrix of a chunk of samples starting at x.
template <class T>
void gather_patches(const ConvGeometry& g, const T* x, index_t rows, T* patches) {
  const index_t width = g.patch_size(), sample_size = g.in_positions() * g.channels;
  if (g.channels < kFewChannels) {  // a line of output positions at a time
    const index_t count = g.out[2], lines = rows / count;
    std::vector<InsideRun> runs;
    for (index_t q2 = 0; q2 < g.kernel[2]; ++q2) runs.emplace_back(g, q2);
    const index_t grain = std::max<index_t>(1, 4096 / std::max<index_t>(width * count, 1));
    parallel_for(lines, grain, [&](index_t begin, index_t end) {
      for (index_t line = begin; line < end; ++line) {
        const OutputPosition o = output_position(g, line * count);
        gather_patch_line(g, x + o.sample * sample_size, o.o0, o.o1, runs.data(), patches + line * count * width);
      }
    });
    return;
  }
  parallel_for(rows, std::max<index_t>(1, 4096 / std::max<index_t>(width, 1)), [&](index_t begin, index_t end) {
    OutputPosition o = output_position(g, begin);
    for (index_t row = begin; row < end; ++row, o.next(g)) {
      gather_patch_row(g, x + o.sample * sample_size, o.o0, o.o1, o.o2, patches + row * width);
    }
  });
}

// PackSource of P read in place (BlockLayout::rows): P[row : row + mc, col : col + kc] row by
// row into dst, each row's taps a few contiguous runs of x.
template <class T>
void gather_patch_rows(const void* context, index_t row, index_t col, index_t mc, index_t kc, index_t mr, T* dst, T*) {
  const PatchMatrix<T>& p = *static_cast<const PatchMatrix<T>*>(context);
  const FirstTap first(p.g, col);
  OutputPosition o = output_position(p.g, row);
  for (index_t i = 0; i < mc; ++i, o.next(p.g)) gather_patch_columns(p, o, first, col, col + kc, dst + i * kc);
  std::fill(dst + mc * kc, dst + round_up(mc, mr) * kc, T(0));
}

// PackSource of Pᵀ (the operand of dW = Pᵀ · g) in pack_a's layout: Pᵀ[row : row + mc, col : col + kc]
// is P[col : col + kc, row : row + mc], gathered one row of P at a time into scratch.
template <class T>
void pack_transposed_patches(const void* context, index_t row, index_t col, index_t mc, index_t kc, index_t mr, T* dst,
                             T* scratch) {
  const PatchMatrix<T>& p = *static_cast<const PatchMatrix<T>*>(context);
  const FirstTap first(p.g, row);
  OutputPosition o = output_position(p.g, col);
  for (index_t j = 0; j < kc; ++j, o.next(p.g)) gather_patch_columns(p, o, first, row, row + mc, scratch + j * mc);
  pack_a(MatrixView<T>{scratch, 1, mc}, 0, 0, mc, kc, mr, dst);
}

// PackSource of P in pack_a's layout, through gather_patch_rows into scratch: for products wide
// enough that the GEMM packs A, for a micro-kernel not measured to read rows as fast (gemm.hpp).
template <class T>
void pack_patch_rows(const void* context, index_t row, index_t col, index_t mc, index_t kc, index_t mr, T* dst,
                     T* scratch) {
  gather_patch_rows<T>(context, row, col, mc, kc, mr, scratch, nullptr);
  pack_a(MatrixView<T>{scratch, kc, 1}, 0, 0, mc, kc, mr, dst);
}

// The adjoint of the patch gathering: dx[sample, position, c] = Σ of the patch gradients that read
// it. Threads own whole samples and each adds in row-then-tap order: deterministic.
template <class T>
void scatter_patches(const ConvGeometry& g, const T* dpatches, index_t samples, T* dx) {
  const index_t c = g.channels, width = g.patch_size(), sample_size = g.in_positions() * c;
  const index_t positions = g.out_positions();
  parallel_for(samples, 1, [&](index_t begin, index_t end) {
    for (index_t sample = begin; sample < end; ++sample) {
      T* dxs = dx + sample * sample_size;
      std::fill(dxs, dxs + sample_size, T(0));
      OutputPosition p = output_position(g, sample * positions);
      for (index_t row = sample * positions; row < (sample + 1) * positions; ++row, p.next(g)) {
        const T* in = dpatches + row * width;
        for_each_tap(g, p.o0, p.o1, p.o2, [&](index_t tap, index_t at) {
          if (at < 0) return;
          T* target = dxs + at * c;
          const T* source = in + tap * c;
          for (index_t j = 0; j < c; ++j) target[j] += source[j];
        });
      }
    }
  });
}

// At unit strides, dx is itself a convolution: of g with the kernel flipped in space and with its
// channel axes swapped, padded so that each input position sees the outputs that read it. That
// gathers instead of scattering, and multiplies with a reduction of taps x filters instead of
// filters alone (a GEMM with K = 16 runs far below its peak).
bool dx_is_a_convolution(const ConvGeometry& g) { return g.stride[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1; }

ConvGeometry transposed(const ConvGeometry& g) {
  ConvGeometry t = g;
  t.channels = g.filters;
  t.filters = g.channels;
  for (int d = 0; d < 3; ++d) {
    t.in[d] = g.out[d];
    t.out[d] = g.in[d];
    t.pad[d] = g.dilation[d] * (g.kernel[d] - 1) - g.pad[d];
  }
  return t;
}

// flipped[q', f, c] = w[taps - 1 - q', c, f]: (taps, channels, filters) -> (taps, filters, channels).
template <class T>
void flip_kernel(const ConvGeometry& g, const T* w, T* flipped) {
  const index_t taps = g.kernel_positions(), c = g.channels, f = g.filters;
  for (index_t q = 0; q < taps; ++q) {
    const T* source = w + (taps - 1 - q) * c * f;
    T* target = flipped + q * f * c;
    for (index_t i = 0; i < c; ++i) {
      for (index_t j = 0; j < f; ++j) target[j * c + i] = source[i * f + j];
    }
  }
}

thread_local AlignedBuffer patch_workspace, patch_gradient_workspace, weight_gradient_workspace, output_gradient_workspace,
    flipped_kernel_workspace;

}  // namespace

template <class T>
void conv_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, Activation activation, T alpha, T* y) {
  if (g.batch <= 0 || g.filters <= 0 || g.out_positions() <= 0) return;
  LinearParams<T> params;
  params.bias = bias;
  params.activation = activation;
  params.alpha = alpha;
  const index_t width = g.patch_size(), positions = g.out_positions(), rows = g.batch * positions;
  const MatrixView<T> weights{w, g.filters, 1};
  if (patches_are_input(g)) {
    return linear_forward<T>(rows, width, g.filters, MatrixView<T>{x, width, 1}, weights, y, g.filters, params);
  }
  if (!gemm_transposes<T>(rows, g.filters) && g.channels >= kFewChannels) {  // P gathered as the GEMM needs it
    const PatchMatrix<T> patches{g, x};
    const PackSource<T> source = gemm_reads_rows<T>(g.filters)
                                     ? PackSource<T>{&gather_patch_rows<T>, &patches, BlockLayout::rows}
                                     : PackSource<T>{&pack_patch_rows<T>, &patches};
    return linear_forward<T>(rows, width, g.filters, MatrixView<T>{nullptr, 0, 0}, weights, y, g.filters, params,
                             &source);
  }
  // A narrow output (a few filters) is computed transposed or by the narrow-output kernel, which
  // both need P stored, and a few channels gather faster into a stored P (gather_patch_line):
  // materialized a chunk of samples at a time (4 MiB), small enough to stay in L2/L3.
  const index_t chunk = samples_per_chunk(g);
  T* patches = patch_workspace.reserve_as<T>(std::size_t(std::max<index_t>(chunk * positions * width, 1)));
  for (index_t first = 0; first < g.batch; first += chunk) {
    const index_t chunk_rows = std::min(chunk, g.batch - first) * positions;
    gather_patches(g, x + first * g.in_positions() * g.channels, chunk_rows, patches);
    linear_forward<T>(chunk_rows, width, g.filters, MatrixView<T>{patches, width, 1}, weights,
                      y + first * positions * g.filters, g.filters, params);
  }
}

template <class T>
void conv_backward(const ConvGeometry& g, const T* dy, const T* x, const T* w, const T* y, Activation activation,
                   T alpha, T* dx, T* dw, T* db) {
  const index_t width = g.patch_size(), positions = g.out_positions(), f = g.filters;
  if (g.batch <= 0 || f <= 0 || positions <= 0) {  // a sum of nothing: every gradient is zero
    std::fill(dw, dw + width * f, T(0));
    std::fill(db, db + f, T(0));
    if (dx) std::fill(dx, dx + g.batch * g.in_positions() * g.channels, T(0));
    return;
  }
  LinearParams<T> params;
  params.activation = activation;
  params.alpha = alpha;
  const index_t rows = g.batch * positions;
  const MatrixView<T> weights{w, f, 1};
  if (patches_are_input(g)) {
    return linear_backward<T>(rows, width, f, dy, MatrixView<T>{x, width, 1}, weights, y, dx, dw, db, params);
  }
  // grad = dy ⊙ act'(y) is formed once here when dx's product reads it as well; otherwise
  // linear_backward forms it in the sweep that sums db.
  const T* grad = dy;
  const T* grad_y = y;
  LinearParams<T> grad_params = params;
  if (dx && activation != Activation::identity) {
    const index_t n = rows * f;
    T* buffer = output_gradient_workspace.reserve_as<T>(std::size_t(n));
    with_activation(activation, [&](auto a) {  // one pass: read dy and y, write grad
      parallel_for(n, index_t{1} << 15, [&](index_t begin, index_t end) {
        for (index_t j = begin; j < end; ++j) buffer[j] = times_derivative<decltype(a)::value>(dy[j], y[j], alpha);
      });
    });
    grad = buffer;
    grad_y = nullptr;
    grad_params = LinearParams<T>{};
  }

  // dW = Pᵀ · grad and db = Σ grad. Pᵀ is gathered as the GEMM packs it in wide products; in
  // narrow ones every thread would walk all positions for its few columns of Pᵀ (one channel,
  // 16 filters: 1.13-1.25x the time of the stored P), so P is stored a chunk at a time, as it is
  // for a few channels (gather_patch_line).
  if (gemm_packs_a<T>(f) && g.channels >= kFewChannels) {
    const PatchMatrix<T> patches{g, x};
    const PackSource<T> source{&pack_transposed_patches<T>, &patches};
    linear_backward<T>(rows, width, f, grad, MatrixView<T>{nullptr, 0, 0}, weights, grad_y, nullptr, dw, db, grad_params,
                       &source);
  } else {  // P materialized a chunk at a time, the chunks' dW and db added in chunk order
    const index_t chunk = samples_per_chunk(g);
    T* patches = patch_workspace.reserve_as<T>(std::size_t(chunk * positions * width));
    T* chunk_dw = g.batch > chunk ? weight_gradient_workspace.reserve_as<T>(std::size_t(width * f + f)) : nullptr;
    T* chunk_db = chunk_dw ? chunk_dw + width * f : nullptr;
    for (index_t first = 0; first < g.batch; first += chunk) {
      const index_t samples = std::min(chunk, g.batch - first), at_out = first * positions * f;
      const bool first_chunk = first == 0;  // writes dw and db itself; later chunks are added
      gather_patches(g, x + first * g.in_positions() * g.channels, samples * positions, patches);
      linear_backward<T>(samples * positions, width, f, grad + at_out, MatrixView<T>{patches, width, 1}, weights,
                         grad_y ? grad_y + at_out : nullptr, nullptr, first_chunk ? dw : chunk_dw,
                         first_chunk ? db : chunk_db, grad_params);
      if (!first_chunk) {
        for (index_t i = 0; i < width * f; ++i) dw[i] += chunk_dw[i];
        for (index_t j = 0; j < f; ++j) db[j] += chunk_db[j];
      }
    }
  }
  if (!dx) return;

  if (dx_is_a_convolution(g)) {
    T* flipped = flipped_kernel_workspace.reserve_as<T>(std::size_t(width * f));
    flip_kernel(g, w, flipped);
    return conv_forward<T>(transposed(g), grad, flipped, nullptr, Activation::identity, T(0), dx);
  }
  // Strides > 1: the patch gradients grad · Wᵀ, a chunk of samples at a time, added into dx.
  const index_t chunk = samples_per_chunk(g);
  T* dpatches = patch_gradient_workspace.reserve_as<T>(std::size_t(chunk * positions * width));
  for (index_t first = 0; first < g.batch; first += chunk) {
    const index_t samples = std::min(chunk, g.batch - first);
    gemm<T>(GemmProblem<T>{samples * positions, width, f, MatrixView<T>{grad + first * positions * f, f, 1},
                           MatrixView<T>{w, 1, f}, dpatches, width});
    scatter_patches(g, dpatches, samples, dx + first * g.in_positions() * g.channels);
  }
}

template void conv_forward<float>(const ConvGeometry&, const float*, const float*, const float*, Activation, float, float*);
template void conv_forward<double>(const ConvGeometry&, const double*, const double*, const double*, Activation, double,
                                   double*);
template void conv_backward<float>(const ConvGeometry&, const float*, const float*, const float*, const float*, Activation,
                                    float, float*, float*, float*);
template void conv_backward<double>(const ConvGeometry&, const double*, const double*, const double*, const double*,
                                    Activation, double, double*, double*, double*);

}  // namespace fastnn
