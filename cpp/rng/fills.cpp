#include "fills.hpp"

#include <cmath>
#include <limits>

#include "../parallel.hpp"
#include "kernels.hpp"

namespace fastnn {
namespace {

// Values per thread at least. Any split gives the same bits: each value depends on its position.
constexpr index_t kFillGrain = index_t{1} << 14;

// Calls kernel(out + begin, end - begin, args at offset + begin) over [0, count) in parallel.
template <class T, class Args, class Kernel>
void fill_parallel(T* out, index_t count, Args args, Kernel kernel) {
  const std::uint64_t offset = args.offset;
  parallel_for(count, kFillGrain, [&](index_t begin, index_t end) {
    Args chunk = args;
    chunk.offset = offset + std::uint64_t(begin);
    kernel(out + begin, end - begin, chunk);
  });
}

template <class T>
UniformArgs uniform_args(double low, double high, std::uint64_t seed, std::uint64_t offset) {
  const T low_t = T(low), high_t = T(high);
  const T below_high = std::nextafter(high_t, -std::numeric_limits<T>::infinity());
  return UniformArgs{double(low_t), double(high_t) - double(low_t), double(high_t), double(below_high), seed, offset};
}

}  // namespace

template <>
void fill_uniform<float>(float* out, index_t count, double low, double high, std::uint64_t seed,
                         std::uint64_t offset) {
  fill_parallel(out, count, uniform_args<float>(low, high, seed, offset), rng_kernels().uniform_f32);
}

template <>
void fill_uniform<double>(double* out, index_t count, double low, double high, std::uint64_t seed,
                          std::uint64_t offset) {
  fill_parallel(out, count, uniform_args<double>(low, high, seed, offset), rng_kernels().uniform_f64);
}

template <>
void fill_normal<float>(float* out, index_t count, double mean, double stddev, std::uint64_t seed, std::uint64_t offset) {
  fill_parallel(out, count, NormalArgs{mean, stddev, false, seed, offset}, rng_kernels().normal_f32);
}

template <>
void fill_normal<double>(double* out, index_t count, double mean, double stddev, std::uint64_t seed,
                         std::uint64_t offset) {
  fill_parallel(out, count, NormalArgs{mean, stddev, false, seed, offset}, rng_kernels().normal_f64);
}

template <>
void fill_truncated_normal<float>(float* out, index_t count, double mean, double stddev, std::uint64_t seed,
                                  std::uint64_t offset) {
  fill_parallel(out, count, NormalArgs{mean, stddev, true, seed, offset}, rng_kernels().normal_f32);
}

template <>
void fill_truncated_normal<double>(double* out, index_t count, double mean, double stddev, std::uint64_t seed,
                                   std::uint64_t offset) {
  fill_parallel(out, count, NormalArgs{mean, stddev, true, seed, offset}, rng_kernels().normal_f64);
}

}  // namespace fastnn
