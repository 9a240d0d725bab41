// The random-number kernels behind dropout and the fills, one set per ISA path (generic, avx2,
// avx512), chosen once with the GEMM kernels (cpu/dispatch.hpp).
//
// Contract, common to every kernel of every set:
// - single-threaded over [0, n); the portable drivers (fills.cpp, dropout.cpp) split the work
//   across threads, and any split gives the same result because every value is a pure function
//   of (seed, offset + i) on the stream layout of philox.hpp;
// - bitwise the same result on every path: the SIMD kernels compute the scalar reference
//   (scalar.hpp, which the generic set uses as is) operation for operation, in the same order,
//   with no FMA contraction (-ffp-contract=off on the whole build);
// - n == 0 is allowed and touches nothing; any offset is allowed (values need not start at a
//   block boundary); in-place dropout (y == x) is allowed, other overlap is not.
#pragma once

#include <cstdint>

#include "../common.hpp"

namespace fastnn {

// What a dropout kernel needs besides the arrays: draws below `threshold` drop the element,
// kept elements are multiplied by `scale` (1 / (1 - rate) rounded to the dtype).
template <class T>
struct DropoutArgs {
  std::uint32_t threshold;
  T scale;
  std::uint64_t seed;
  std::uint64_t offset;
};

// out = low + span * u rounded to T, replaced by below_high when it reaches high (fills.hpp).
struct UniformArgs {
  double low;
  double span;
  double high;        // in T
  double below_high;  // the largest T below high
  std::uint64_t seed;
  std::uint64_t offset;
};

// out = T(mean + stddev * z); with `truncate`, z beyond +-2 is redrawn (fills.hpp).
struct NormalArgs {
  double mean;
  double stddev;
  bool truncate;
  std::uint64_t seed;
  std::uint64_t offset;
};

struct RngKernels {
  const char* name;
  // out[4 i .. 4 i + 3] = Philox4x32-10 of counters[4 i .. 4 i + 3] under `key`, for i < n.
  void (*philox_blocks)(const std::uint32_t* counters, const std::uint32_t key[2], index_t n, std::uint32_t* out);
  // out[i] = the 32-bit draw at position offset + i (random_bits.hpp).
  void (*random_words)(std::uint64_t seed, std::uint64_t offset, index_t n, std::uint32_t* out);
  void (*dropout_f32)(const float* x, float* y, index_t n, const DropoutArgs<float>& args);
  void (*dropout_f64)(const double* x, double* y, index_t n, const DropoutArgs<double>& args);
  void (*uniform_f32)(float* out, index_t n, const UniformArgs& args);
  void (*uniform_f64)(double* out, index_t n, const UniformArgs& args);
  void (*normal_f32)(float* out, index_t n, const NormalArgs& args);
  void (*normal_f64)(double* out, index_t n, const NormalArgs& args);
};

// The set in use (the one-time choice of cpu/dispatch.hpp).
const RngKernels& rng_kernels();

namespace generic {
extern const RngKernels rng_kernels;
}
namespace avx2 {
extern const RngKernels rng_kernels;
}
namespace avx512 {
extern const RngKernels rng_kernels;
}

}  // namespace fastnn
