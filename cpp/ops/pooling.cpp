#include "pooling.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "../cpu/vector_isa.hpp"

namespace fastnn {
namespace {

constexpr index_t kPoolGrain = index_t{1} << 13;  // values touched per thread, at least

// The window of output o along one axis: [begin, end) of the input, and its first (possibly
// padded) position `origin`, from which window-local positions count.
struct Span {
  index_t origin, begin, end;
};

Span window(const PoolGeometry& g, int axis, index_t o) {
  const index_t origin = o * g.stride[axis] - g.pad[axis];
  return {origin, std::max<index_t>(origin, 0), std::min(origin + g.pool[axis], g.in[axis])};
}

// The outputs along one axis whose windows hold input position i: [first, last].
struct Range {
  index_t first, last;
};

Range covering(const PoolGeometry& g, int axis, index_t i) {
  const index_t shifted = i + g.pad[axis];  // position in the padded input
  const index_t low = shifted - g.pool[axis] + 1;
  const index_t first = low <= 0 ? 0 : ceil_div(low, g.stride[axis]);
  return {first, std::min(shifted / g.stride[axis], g.out[axis] - 1)};
}

// Splits a flat row index over (batch, e0, e1, e2) into its coordinates.
void unflatten(index_t row, const index_t extent[3], index_t& n, index_t& a, index_t& b, index_t& c) {
  c = row % extent[2];
  row /= extent[2];
  b = row % extent[1];
  row /= extent[1];
  a = row % extent[0];
  n = row / extent[0];
}

index_t window_volume(const PoolGeometry& g) { return g.pool[0] * g.pool[1] * g.pool[2]; }

// Calls body(row, n, d, h, w) over the output rows, in parallel, d/h/w being the windows.
// Both loops run compiled for AVX2 where the path allows (vector_isa.hpp): at (64, 32, 32, 64)
// and (64, 16, 16, 40) float32 2x2 on a Zen 3, interleaved with the baseline build, every pass
// took 0.71-0.98x its time. (The cache lines below stay four 16-byte vectors: as two 32-byte
// ones the baseline build's max pooling ran 8x slower.)
template <class Body>
void for_each_output(const PoolGeometry& g, Body&& body) {
  const index_t grain = std::max<index_t>(1, kPoolGrain / std::max<index_t>(1, g.channels * window_volume(g)));
  parallel_for_vectorized(g.output_rows(), grain, [&](index_t begin, index_t end) {
    for (index_t row = begin; row < end; ++row) {
      index_t n, od, oh, ow;
      unflatten(row, g.out, n, od, oh, ow);
      body(row, n, window(g, 0, od), window(g, 1, oh), window(g, 2, ow));
    }
  });
}

// Calls body(row, n, id, ih, iw) over the input rows, in parallel.
template <class Body>
void for_each_input(const PoolGeometry& g, Body&& body) {
  const index_t grain = std::max<index_t>(1, kPoolGrain / std::max<index_t>(1, g.channels));
  parallel_for_vectorized(g.input_rows(), grain, [&](index_t begin, index_t end) {
    for (index_t row = begin; row < end; ++row) {
      index_t n, id, ih, iw;
      unflatten(row, g.in, n, id, ih, iw);
      body(row, n, id, ih, iw);
    }
  });
}

index_t input_row(const PoolGeometry& g, index_t n, index_t d, index_t h, index_t w) {
  return ((n * g.in[0] + d) * g.in[1] + h) * g.in[2] + w;
}

index_t output_row(const PoolGeometry& g, index_t n, index_t d, index_t h, index_t w) {
  return ((n * g.out[0] + d) * g.out[1] + h) * g.out[2] + w;
}

// Calls body(output row, d, h, w) for every output whose window holds input (n, id, ih, iw), in
// output order: the backward passes gather in this fixed order, so their sums do not depend on
// the thread count.
template <class Body>
void for_each_covering_output(const PoolGeometry& g, index_t n, index_t id, index_t ih, index_t iw, Body&& body) {
  const Range rd = covering(g, 0, id), rh = covering(g, 1, ih), rw = covering(g, 2, iw);
  for (index_t od = rd.first; od <= rd.last; ++od) {
    const Span d = window(g, 0, od);
    for (index_t oh = rh.first; oh <= rh.last; ++oh) {
      const Span h = window(g, 1, oh);
      for (index_t ow = rw.first; ow <= rw.last; ++ow) body(output_row(g, n, od, oh, ow), d, h, window(g, 2, ow));
    }
  }
}

}  // namespace

PoolGeometry PoolGeometry::make(index_t batch, const std::vector<index_t>& spatial, index_t channels,
                                const std::vector<index_t>& pool, const std::vector<index_t>& strides,
                                bool same_padding) {
  const std::size_t rank = spatial.size();
  if (rank < 1 || rank > 3 || pool.size() != rank || strides.size() != rank) {
    throw std::invalid_argument("pooling: 1 to 3 spatial axes, with one pool size and one stride each");
  }
  PoolGeometry g;
  g.batch = batch;
  g.channels = channels;
  for (std::size_t i = 0; i < rank; ++i) {
    const int axis = int(3 - rank + i);
    if (pool[i] < 1) throw std::invalid_argument("Argument `pool_size` must hold positive integers. Received " + std::to_string(pool[i]));
    if (strides[i] < 1) throw std::invalid_argument("Argument `strides` must hold positive integers. Received " + std::to_string(strides[i]));
    g.in[axis] = spatial[i];
    g.pool[axis] = pool[i];
    g.stride[axis] = strides[i];
    if (same_padding) {
      g.out[axis] = ceil_div(spatial[i], strides[i]);
      const index_t total = std::max<index_t>((g.out[axis] - 1) * strides[i] + pool[i] - spatial[i], 0);
      g.pad[axis] = total / 2;
    } else {
      if (spatial[i] < pool[i]) {
        throw std::invalid_argument("Argument `pool_size` (" + std::to_string(pool[i]) + ") is larger than the input (" +
                                    std::to_string(spatial[i]) + ") with padding=\"valid\"");
      }
      g.out[axis] = (spatial[i] - pool[i]) / strides[i] + 1;
    }
  }
  // max pooling stores a position inside the window as an int32
  if (double(g.pool[0]) * double(g.pool[1]) * double(g.pool[2]) > double(std::numeric_limits<std::int32_t>::max())) {
    throw std::invalid_argument("Argument `pool_size`: a window of more than 2^31 - 1 elements is not supported");
  }
  return g;
}

// Whether value replaces best as a window's maximum: larger, or the first NaN. The bitwise & and |
// (no short circuit) let the compiler turn the selects into vector blends; the same expression
// serves single channels and the vector-extension lines below.
template <class V>
auto beats(V value, V best) {
  return (value > best) | ((value != value) & (best == best));
}

// Calls body(x's row, position, first) for every input position of one output's window, in
// window order; position is its place inside the (possibly padded) window, as the arg-max keeps it.
template <class T, class Body>
void for_each_window_position(const PoolGeometry& g, const T* x, index_t n, Span d, Span h, Span w, Body&& body) {
  bool first = true;
  for (index_t id = d.begin; id < d.end; ++id) {
    for (index_t ih = h.begin; ih < h.end; ++ih) {
      for (index_t iw = w.begin; iw < w.end; ++iw) {
        const auto position = std::int32_t(((id - d.origin) * g.pool[1] + (ih - h.origin)) * g.pool[2] + (iw - w.origin));
        body(x + input_row(g, n, id, ih, iw) * g.channels, position, first);
        first = false;
      }
    }
  }
}

#if defined(__GNUC__)
// One cache line of channels as four 16-byte vectors (GCC and Clang vector extensions: SSE2 on
// x86-64, NEON on Arm), for the window reductions that keep their running values in registers:
// a plain local array stayed in memory, loaded and stored at every window position (average
// pooling ran 1.6x slower that way).
template <class T>
struct CacheLine {
  typedef T Vector __attribute__((vector_size(16)));
  static constexpr index_t kLanes = 16 / sizeof(T), kWidth = 4 * kLanes;
  static Vector load(const T* x, int v) {
    Vector value;
    std::memcpy(&value, x + v * kLanes, sizeof(Vector));
    return value;
  }
  static void store(T* y, int v, Vector value) { std::memcpy(y + v * kLanes, &value, sizeof(Vector)); }
};

// The maxima of one line over a window: the same selects as max_pool_with_argmax's, so the same
// values, without a round trip through y at every window position.
template <class T>
struct LineMax : CacheLine<T> {
  using typename CacheLine<T>::Vector;
  Vector best[4] = {};  // (start sets them: a window is never empty)

  void start(const T* x) {
    for (int v = 0; v < 4; ++v) best[v] = this->load(x, v);
  }
  void update(const T* x) {
    for (int v = 0; v < 4; ++v) {
      const Vector value = this->load(x, v);
      best[v] = beats(value, best[v]) ? value : best[v];
    }
  }
  void store(T* y) const {
    for (int v = 0; v < 4; ++v) CacheLine<T>::store(y, v, best[v]);
  }
};

// The sums of one line over a window.
template <class T>
struct LineSum : CacheLine<T> {
  using typename CacheLine<T>::Vector;
  Vector part[4] = {};

  void add(const T* x) {
    for (int v = 0; v < 4; ++v) part[v] += this->load(x, v);
  }
  void store_scaled(T* y, T scale) const {
    for (int v = 0; v < 4; ++v) CacheLine<T>::store(y, v, part[v] * scale);
  }
};
#endif

// The channels [0, line_channels) that go a cache line at a time; the rest go one at a time
// (all of them without vector extensions).
template <class T>
index_t line_channels(index_t channels) {
#if defined(__GNUC__)
  return channels / CacheLine<T>::kWidth * CacheLine<T>::kWidth;
#else
  return 0;
#endif
}

// The window maxima and their positions (the training forward).
template <class T>
void max_pool_with_argmax(const T* x, const PoolGeometry& g, T* y, std::int32_t* argmax) {
  const index_t channels = g.channels;
  for_each_output(g, [&](index_t row, index_t n, Span d, Span h, Span w) {
    T* yr = y + row * channels;
    std::int32_t* ar = argmax + row * channels;
    for_each_window_position(g, x, n, d, h, w, [&](const T* xr, std::int32_t position, bool first) {
      if (first) {
        std::copy(xr, xr + channels, yr);
        std::fill(ar, ar + channels, position);
        return;
      }
      for (index_t c = 0; c < channels; ++c) {  // unconditional loads: the selects vectorize
        const T value = xr[c], best = yr[c];
        const bool wins = beats(value, best);
        yr[c] = wins ? value : best;
        ar[c] = wins ? position : ar[c];
      }
    });
  });
}

// The window maxima alone (inference): no arg-max written, half the writes.
template <class T>
void max_pool_values(const T* x, const PoolGeometry& g, T* y) {
  const index_t channels = g.channels, full = line_channels<T>(channels);
  for_each_output(g, [&](index_t row, index_t n, Span d, Span h, Span w) {
    T* yr = y + row * channels;
    const auto for_each_position = [&](auto&& body) {
      for_each_window_position(g, x, n, d, h, w, [&](const T* xr, std::int32_t, bool first) { body(xr, first); });
    };
#if defined(__GNUC__)
    for (index_t c0 = 0; c0 < full; c0 += CacheLine<T>::kWidth) {
      LineMax<T> line;
      for_each_position([&](const T* xr, bool first) { first ? line.start(xr + c0) : line.update(xr + c0); });
      line.store(yr + c0);
    }
#endif
    if (full < channels) {  // the last channels, one at a time (the same selects)
      for_each_position([&](const T* xr, bool first) {
        if (first) {
          std::copy(xr + full, xr + channels, yr + full);
          return;
        }
        for (index_t c = full; c < channels; ++c) yr[c] = beats(xr[c], yr[c]) ? xr[c] : yr[c];
      });
    }
  });
}

template <class T>
void max_pool(const T* x, const PoolGeometry& g, T* y, std::int32_t* argmax) {
  if (argmax) {
    max_pool_with_argmax(x, g, y, argmax);
  } else {
    max_pool_values(x, g, y);
  }
}

template <class T>
void max_pool_backward(const T* dy, const std::int32_t* argmax, const PoolGeometry& g, T* dx) {
  const index_t channels = g.channels;
  for_each_input(g, [&](index_t row, index_t n, index_t id, index_t ih, index_t iw) {
    T* dxr = dx + row * channels;
    std::fill(dxr, dxr + channels, T(0));
    for_each_covering_output(g, n, id, ih, iw, [&](index_t o, Span d, Span h, Span w) {
      const auto position = std::int32_t(((id - d.origin) * g.pool[1] + (ih - h.origin)) * g.pool[2] + (iw - w.origin));
      const T* dyr = dy + o * channels;
      const std::int32_t* ar = argmax + o * channels;
      for (index_t c = 0; c < channels; ++c) {
        const T gradient = dyr[c];  // loaded unconditionally: the select vectorizes
        dxr[c] += ar[c] == position ? gradient : T(0);
      }
    });
  });
}

template <class T>
void average_pool(const T* x, const PoolGeometry& g, T* y) {
  const index_t channels = g.channels, full = line_channels<T>(channels);
  for_each_output(g, [&](index_t row, index_t n, Span d, Span h, Span w) {
    T* yr = y + row * channels;
    const T inverse_count = T(1.0 / double((d.end - d.begin) * (h.end - h.begin) * (w.end - w.begin)));
    const auto for_each_position = [&](auto&& body) {
      for_each_window_position(g, x, n, d, h, w, [&](const T* xr, std::int32_t, bool) { body(xr); });
    };
#if defined(__GNUC__)
    for (index_t c0 = 0; c0 < full; c0 += CacheLine<T>::kWidth) {
      LineSum<T> sum;
      for_each_position([&](const T* xr) { sum.add(xr + c0); });
      sum.store_scaled(yr + c0, inverse_count);
    }
#endif
    if (full < channels) {  // the last channels, one at a time (same order of additions)
      std::fill(yr + full, yr + channels, T(0));
      for_each_position([&](const T* xr) {
        for (index_t c = full; c < channels; ++c) yr[c] += xr[c];
      });
      for (index_t c = full; c < channels; ++c) yr[c] *= inverse_count;
    }
  });
}

template <class T>
void average_pool_backward(const T* dy, const PoolGeometry& g, T* dx) {
  const index_t channels = g.channels;
  for_each_input(g, [&](index_t row, index_t n, index_t id, index_t ih, index_t iw) {
    T* dxr = dx + row * channels;
    std::fill(dxr, dxr + channels, T(0));
    for_each_covering_output(g, n, id, ih, iw, [&](index_t o, Span d, Span h, Span w) {
      const T inverse_count = T(1.0 / double((d.end - d.begin) * (h.end - h.begin) * (w.end - w.begin)));
      const T* dyr = dy + o * channels;
      for (index_t c = 0; c < channels; ++c) dxr[c] += dyr[c] * inverse_count;
    });
  });
}

template void max_pool<float>(const float*, const PoolGeometry&, float*, std::int32_t*);
template void max_pool<double>(const double*, const PoolGeometry&, double*, std::int32_t*);
template void max_pool_backward<float>(const float*, const std::int32_t*, const PoolGeometry&, float*);
template void max_pool_backward<double>(const double*, const std::int32_t*, const PoolGeometry&, double*);
template void average_pool<float>(const float*, const PoolGeometry&, float*);
template void average_pool<double>(const double*, const PoolGeometry&, double*);
template void average_pool_backward<float>(const float*, const PoolGeometry&, float*);
template void average_pool_backward<double>(const double*, const PoolGeometry&, double*);

}  // namespace fastnn
