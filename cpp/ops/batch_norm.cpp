#include "batch_norm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "../cpu/vector_isa.hpp"
#include "../parallel.hpp"

namespace fastnn {
namespace {

// A chunk holds about this many values (64 KiB of float32: it stays in L2 between the two passes
// over it), with kMinChunkRows to kMaxChunkRows rows. Within a chunk the sums run in the data's
// own type (float32 sums vectorize twice as many to a register as double's) over
// at most kMaxChunkRows terms; the chunks' partials are merged in double. The minimum keeps the
// partials of a very wide input small beside it (2 doubles per feature per chunk).
constexpr index_t kChunkValues = index_t{1} << 14;
constexpr index_t kMinChunkRows = 32;
constexpr index_t kMaxChunkRows = 256;

// Values a thread must get to be worth waking: a parallel region costs about 30 us here (a VM's
// futex wake-up), against ~0.6 ns per value of a pass. At (128, 8, 8, 16) float32 (131,072
// values) one thread took 75 us for the forward pass where two took 103.
constexpr index_t kValuesPerThread = index_t{1} << 17;

struct Chunks {
  index_t rows_per_chunk, count, grain;  // grain: chunks per thread, at least
  Chunks(index_t rows, index_t features)
      : rows_per_chunk(std::clamp(kChunkValues / std::max<index_t>(features, 1), kMinChunkRows, kMaxChunkRows)),
        count(ceil_div(rows, rows_per_chunk)),
        grain(std::max<index_t>(1, kValuesPerThread / std::max<index_t>(rows_per_chunk * features, 1))) {}
  index_t begin(index_t chunk) const { return chunk * rows_per_chunk; }
  index_t end(index_t chunk, index_t rows) const { return std::min(rows, (chunk + 1) * rows_per_chunk); }
};

// Calls body(chunk) for every chunk, in parallel, compiled for AVX2 where the path allows
// (vector_isa.hpp): on a Zen 3, interleaved with the baseline build, the forward pass took
// 0.85x its time at (64, 32, 32, 64) float32 and the backward 0.86-0.93x; 0.63-0.95x at 16 to
// 128 features, both dtypes. Each thread walks its own contiguous range of chunks backwards
// when `reverse`: a second pass over the data then starts with the chunks the first pass read
// last, which are the likeliest to be still in cache.
template <class Body>
void for_each_chunk(const Chunks& chunks, bool reverse, Body&& body) {
  parallel_for_vectorized(chunks.count, chunks.grain, [&](index_t begin, index_t end) {
    if (reverse) {
      for (index_t chunk = end - 1; chunk >= begin; --chunk) body(chunk);
    } else {
      for (index_t chunk = begin; chunk < end; ++chunk) body(chunk);
    }
  });
}

// The reductions walk the features in slabs of kSlab<T> adjacent columns (128 bytes): a slab's
// running sums are small fixed-size arrays the compiler keeps in vector registers across the
// rows, where a loop over every feature of a row loads and stores each sum once per row (that
// round trip took most of the statistics pass's time: the forward pass fell from about 4.4 to
// 2.5 ms at (65536, 64) float32, 2 threads). The elementwise passes stay row by row: slabs
// there measured slower (their per-feature constants do not fit the registers). `omp simd`:
// compiled for AVX2, GCC 12 left a 16-wide slab's loops scalar, at 3x the baseline's time.
template <class T>
constexpr int kSlab = int(128 / sizeof(T));

// Calls body(first_feature, width) per slab. The width is a compile-time constant for the full
// slabs and for the halving widths that follow (a layer of 16 or 8 channels is all remainder),
// and a run-time one only for the last few features.
template <class T, class Body>
void for_each_slab(index_t features, Body&& body) {
  constexpr int kFull = kSlab<T>;
  index_t c = 0;
  for (; c + kFull <= features; c += kFull) body(c, std::integral_constant<int, kFull>());
  const auto narrower = [&](auto width) {
    if (c + width <= features) body(c, width), c += width;
  };
  narrower(std::integral_constant<int, kFull / 2>());
  narrower(std::integral_constant<int, kFull / 4>());
  narrower(std::integral_constant<int, kFull / 8>());
  if (c < features) body(c, int(features - c));
}

// One chunk's rows [begin, end) of one slab: per feature the mean and the sum of squared
// deviations from it, from two passes over the cache-resident rows.
template <class T, class Width>
void slab_moments(const T* x, index_t begin, index_t end, index_t features, Width width, double* mean_out,
                  double* m2_out) {
  T mean[kSlab<T>] = {}, m2[kSlab<T>] = {};
  for (index_t r = begin; r < end; ++r)
#pragma omp simd
    for (int j = 0; j < width; ++j) mean[j] += x[r * features + j];
  const T inverse_count = T(1.0 / double(end - begin));
  for (int j = 0; j < width; ++j) mean[j] *= inverse_count;
  for (index_t r = begin; r < end; ++r)
#pragma omp simd
    for (int j = 0; j < width; ++j) {
      const T deviation = x[r * features + j] - mean[j];
      m2[j] += deviation * deviation;
    }
  for (int j = 0; j < width; ++j) mean_out[j] = mean[j], m2_out[j] = m2[j];
}

// y = act((x - center) * scale + beta) per feature, with scale = gamma / sqrt(variance + epsilon).
// Subtracting first keeps y accurate when |mean| * scale is large beside y (x * scale + shift
// would cancel there). The activation of a following layer costs nothing in this pass.
template <class T>
struct Normalizer {
  std::vector<T> center, scale, beta;

  Normalizer(index_t features, const T* gamma, const T* beta_in, const double* mean, const double* variance,
             double epsilon)
      : center(features), scale(features), beta(beta_in, beta_in + features) {
    for (index_t c = 0; c < features; ++c) {
      center[c] = T(mean[c]);
      scale[c] = T(double(gamma[c]) / std::sqrt(variance[c] + epsilon));
    }
  }

  void apply(const T* x, index_t rows, index_t features, const Chunks& chunks, Activation activation, T alpha,
             T* y) const {
    const T *m = center.data(), *s = scale.data(), *b = beta.data();
    with_activation(activation, [&](auto a) {
      for_each_chunk(chunks, true, [&](index_t chunk) {
        for (index_t r = chunks.begin(chunk), end = chunks.end(chunk, rows); r < end; ++r) {
          const T* xr = x + r * features;
          T* yr = y + r * features;
          for (index_t c = 0; c < features; ++c) yr[c] = activate<decltype(a)::value>((xr[c] - m[c]) * s[c] + b[c], alpha);
        }
      });
    });
  }
};

}  // namespace

template <class T>
void batch_norm_forward_training(const T* x, index_t rows, index_t features, const T* gamma, const T* beta,
                                 double epsilon, Activation activation, T alpha, T* y, T* mean, T* variance) {
  const Chunks chunks(rows, features);
  // Per chunk: the mean and the sum of squared deviations from it (M2).
  std::vector<double> chunk_mean(chunks.count * features), chunk_m2(chunks.count * features);
  for_each_chunk(chunks, false, [&](index_t chunk) {
    const index_t begin = chunks.begin(chunk), end = chunks.end(chunk, rows);
    for_each_slab<T>(features, [&](index_t first, auto width) {
      slab_moments(x + first, begin, end, features, width, chunk_mean.data() + chunk * features + first,
                   chunk_m2.data() + chunk * features + first);
    });
  });

  // Merge the chunks in chunk order (Chan, Golub and LeVeque's pairwise update), per feature.
  std::vector<double> total_mean(features), total_variance(features);
  parallel_for(features, 64, [&](index_t begin, index_t end) {
    for (index_t c = begin; c < end; ++c) {
      double count = 0.0, m = 0.0, q = 0.0;
      for (index_t chunk = 0; chunk < chunks.count; ++chunk) {
        const double n = double(chunks.end(chunk, rows) - chunks.begin(chunk));
        const double delta = chunk_mean[chunk * features + c] - m;
        const double merged = count + n;
        m += delta * (n / merged);
        q += chunk_m2[chunk * features + c] + delta * delta * (count * n / merged);
        count = merged;
      }
      total_mean[c] = m;
      total_variance[c] = q / double(rows);
      mean[c] = T(m);
      variance[c] = T(total_variance[c]);
    }
  });

  Normalizer<T>(features, gamma, beta, total_mean.data(), total_variance.data(), epsilon)
      .apply(x, rows, features, chunks, activation, alpha, y);
}

template <class T>
void batch_norm_forward_inference(const T* x, index_t rows, index_t features, const T* gamma, const T* beta,
                                  const T* mean, const T* variance, double epsilon, Activation activation, T alpha,
                                  T* y) {
  std::vector<double> m(mean, mean + features), v(variance, variance + features);
  Normalizer<T>(features, gamma, beta, m.data(), v.data(), epsilon)
      .apply(x, rows, features, Chunks(rows, features), activation, alpha, y);
}

template <class T>
void batch_norm_backward(const T* dy, const T* x, const T* y, index_t rows, index_t features, const T* gamma,
                         const T* mean, const T* variance, double epsilon, bool batch_statistics, Activation activation,
                         T alpha, T* dx, T* dgamma, T* dbeta) {
  if (activation != Activation::identity && y == nullptr) {
    throw std::invalid_argument("batch_norm_backward needs the forward output y for activation != identity");
  }
  const Chunks chunks(rows, features);
  // Per chunk: Σ g and Σ g (x - mean) with g = dy ⊙ act'(y), summed in T; merged in double in
  // chunk order below. g is formed again where dx needs it rather than stored.
  std::vector<double> chunk_dy(chunks.count * features), chunk_dy_x(chunks.count * features);
  with_activation(activation, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    for_each_chunk(chunks, false, [&](index_t chunk) {
      const index_t begin = chunks.begin(chunk), end = chunks.end(chunk, rows);
      for_each_slab<T>(features, [&](index_t first, auto width) {
        T m[kSlab<T>], s[kSlab<T>] = {}, t[kSlab<T>] = {};
        for (int j = 0; j < width; ++j) m[j] = mean[first + j];
        for (index_t r = begin; r < end; ++r) {
          const index_t at = r * features + first;
#pragma omp simd
          for (int j = 0; j < width; ++j) {
            const T g = times_derivative<A>(dy[at + j], A == Activation::identity ? T(0) : y[at + j], alpha);
            s[j] += g;
            t[j] += g * (x[at + j] - m[j]);
          }
        }
        for (int j = 0; j < width; ++j) {
          chunk_dy[chunk * features + first + j] = s[j];
          chunk_dy_x[chunk * features + first + j] = t[j];
        }
      });
    });
  });

  // dx = k g + p (x - mean) + q per feature, with k = gamma / σ, p = -k dgamma / (σ rows) and
  // q = -k dbeta / rows (p = q = 0 when the statistics were constants).
  std::vector<T> k(features), p(features), q(features);
  parallel_for(features, 64, [&](index_t begin, index_t end) {
    for (index_t c = begin; c < end; ++c) {
      double sum_dy = 0.0, sum_dy_x = 0.0;
      for (index_t chunk = 0; chunk < chunks.count; ++chunk) {
        sum_dy += chunk_dy[chunk * features + c];
        sum_dy_x += chunk_dy_x[chunk * features + c];
      }
      const double inverse_std = 1.0 / std::sqrt(double(variance[c]) + epsilon);
      const double g = sum_dy_x * inverse_std;
      dbeta[c] = T(sum_dy);
      dgamma[c] = T(g);
      const double scale = double(gamma[c]) * inverse_std;
      k[c] = T(scale);
      p[c] = T(batch_statistics ? -scale * g * inverse_std / double(rows) : 0.0);
      q[c] = T(batch_statistics ? -scale * sum_dy / double(rows) : 0.0);
    }
  });
  if (dx == nullptr) return;

  with_activation(activation, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    for_each_chunk(chunks, true, [&](index_t chunk) {
      for (index_t r = chunks.begin(chunk), end = chunks.end(chunk, rows); r < end; ++r) {
        const index_t row = r * features;  // y is read only through an activation (null without one)
        for (index_t c = 0; c < features; ++c) {
          const T g = times_derivative<A>(dy[row + c], A == Activation::identity ? T(0) : y[row + c], alpha);
          dx[row + c] = k[c] * g + p[c] * (x[row + c] - mean[c]) + q[c];
        }
      }
    });
  });
}

template void batch_norm_forward_training<float>(const float*, index_t, index_t, const float*, const float*, double,
                                                 Activation, float, float*, float*, float*);
template void batch_norm_forward_training<double>(const double*, index_t, index_t, const double*, const double*,
                                                  double, Activation, double, double*, double*, double*);
template void batch_norm_forward_inference<float>(const float*, index_t, index_t, const float*, const float*,
                                                  const float*, const float*, double, Activation, float, float*);
template void batch_norm_forward_inference<double>(const double*, index_t, index_t, const double*, const double*,
                                                   const double*, const double*, double, Activation, double, double*);
template void batch_norm_backward<float>(const float*, const float*, const float*, index_t, index_t, const float*,
                                         const float*, const float*, double, bool, Activation, float, float*, float*,
                                         float*);
template void batch_norm_backward<double>(const double*, const double*, const double*, index_t, index_t,
                                          const double*, const double*, const double*, double, bool, Activation, double,
                                          double*, double*, double*);

}  // namespace fastnn
