#include "affine_resample.hpp"

#include <algorithm>
#include <cmath>

#include "../parallel.hpp"

namespace fastnn {
namespace {

// Index k of a dimension of `size` through the fill mode; -1 for constant fill.
index_t fill_index(index_t k, index_t size, FillMode mode) {
  if (k >= 0 && k < size) return k;
  switch (mode) {
    case FillMode::nearest: return k < 0 ? 0 : size - 1;
    case FillMode::wrap: return ((k % size) + size) % size;
    case FillMode::reflect: {
      const index_t period = 2 * size;
      const index_t r = ((k % period) + period) % period;
      return r < size ? r : period - 1 - r;
    }
    default: return -1;
  }
}

constexpr double kFar = 1099511627776.0;  // 2^40

double snap(double v) {
  const double nearest = std::nearbyint(v);
  return std::abs(v - nearest) < 1e-9 ? nearest : v;
}

// The four neighbours that output pixel (i, j) of an image reads through matrix m: their rows and
// columns in the image (-1: constant fill) and their bilinear weights.
template <class T>
struct Neighbours {
  index_t rows[2], cols[2];
  T weight[2][2];

  Neighbours(const double* m, index_t i, index_t j, index_t height, index_t width, FillMode mode) {
    const double r = snap(m[0] * double(i) + m[1] * double(j) + m[2]);
    const double c = snap(m[3] * double(i) + m[4] * double(j) + m[5]);
    const double r_floor = std::floor(r), c_floor = std::floor(c);
    const T fr = T(r - r_floor), fc = T(c - c_floor);
    // Beyond 2^40 the point is meaningless anyway; clamping keeps the conversion defined (the
    // binding rejects non-finite matrices).
    const index_t r0 = index_t(std::clamp(r_floor, -kFar, kFar)), c0 = index_t(std::clamp(c_floor, -kFar, kFar));
    rows[0] = fill_index(r0, height, mode), rows[1] = fill_index(r0 + 1, height, mode);
    cols[0] = fill_index(c0, width, mode), cols[1] = fill_index(c0 + 1, width, mode);
    weight[0][0] = (T(1) - fr) * (T(1) - fc), weight[0][1] = (T(1) - fr) * fc;
    weight[1][0] = fr * (T(1) - fc), weight[1][1] = fr * fc;
  }
};

}  // namespace

template <class T>
void affine_resample(const T* x, T* out, index_t batch, index_t height, index_t width, index_t channels,
                     const double* matrices, FillMode mode, T fill) {
  if (batch <= 0 || height <= 0 || width <= 0 || channels <= 0) return;
  const index_t row_size = width * channels, image_size = height * row_size;
  parallel_for(batch * height, std::max<index_t>(1, 4096 / row_size), [&](index_t begin, index_t end) {
    for (index_t line = begin; line < end; ++line) {
      const index_t n = line / height, i = line % height;
      const double* m = matrices + 6 * n;
      const T* image = x + n * image_size;
      T* target = out + n * image_size + i * row_size;
      for (index_t j = 0; j < width; ++j, target += channels) {
        const Neighbours<T> p(m, i, j, height, width, mode);
        for (index_t k = 0; k < channels; ++k) target[k] = T(0);
        for (int a = 0; a < 2; ++a) {
          for (int b = 0; b < 2; ++b) {
            const T w = p.weight[a][b];
            if (w == T(0)) continue;  // exact copies at integer points, even next to a NaN fill
            if (p.rows[a] < 0 || p.cols[b] < 0) {
              for (index_t k = 0; k < channels; ++k) target[k] += w * fill;
            } else {
              const T* source = image + p.rows[a] * row_size + p.cols[b] * channels;
              for (index_t k = 0; k < channels; ++k) target[k] += w * source[k];
            }
          }
        }
      }
    }
  });
}

template <class T>
void affine_resample_backward(const T* dy, T* dx, index_t batch, index_t height, index_t width, index_t channels,
                              const double* matrices, FillMode mode) {
  if (batch <= 0 || height <= 0 || width <= 0 || channels <= 0) return;
  const index_t row_size = width * channels, image_size = height * row_size;
  parallel_for(batch, 1, [&](index_t begin, index_t end) {
    for (index_t n = begin; n < end; ++n) {
      const double* m = matrices + 6 * n;
      T* image = dx + n * image_size;
      std::fill(image, image + image_size, T(0));
      const T* source = dy + n * image_size;
      for (index_t i = 0; i < height; ++i) {
        for (index_t j = 0; j < width; ++j, source += channels) {
          const Neighbours<T> p(m, i, j, height, width, mode);
          for (int a = 0; a < 2; ++a) {
            for (int b = 0; b < 2; ++b) {
              const T w = p.weight[a][b];
              if (w == T(0) || p.rows[a] < 0 || p.cols[b] < 0) continue;  // as the forward: no read of x
              T* target = image + p.rows[a] * row_size + p.cols[b] * channels;
              for (index_t k = 0; k < channels; ++k) target[k] += w * source[k];
            }
          }
        }
      }
    }
  });
}

template void affine_resample<float>(const float*, float*, index_t, index_t, index_t, index_t, const double*, FillMode,
                                     float);
template void affine_resample<double>(const double*, double*, index_t, index_t, index_t, index_t, const double*,
                                      FillMode, double);
template void affine_resample_backward<float>(const float*, float*, index_t, index_t, index_t, index_t, const double*,
                                              FillMode);
template void affine_resample_backward<double>(const double*, double*, index_t, index_t, index_t, index_t,
                                               const double*, FillMode);

}  // namespace fastnn
