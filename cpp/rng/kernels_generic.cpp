// The generic kernel set (kernels.hpp): the scalar reference of scalar.hpp in plain loops, for
// CPUs without AVX2 and for FASTNN_ISA=generic. Compiled for the baseline ISA.
#include <algorithm>

#include "kernels.hpp"
#include "scalar.hpp"

namespace fastnn::generic {
namespace {

void philox_blocks(const std::uint32_t* counters, const std::uint32_t key[2], index_t n, std::uint32_t* out) {
  for (index_t i = 0; i < n; ++i) {
    const PhiloxBlock block = philox4x32_10(counters + 4 * i, key);
    for (int w = 0; w < 4; ++w) out[4 * i + w] = block.word[w];
  }
}

void random_words(std::uint64_t seed, std::uint64_t offset, index_t n, std::uint32_t* out) {
  scalar::random_words(seed, offset, n, out);
}

template <class T, class Bits>
void dropout(const T* x, T* y, index_t n, const DropoutArgs<T>& args) {
  constexpr index_t kChunk = 1024;  // draws made at once, kept in L1
  std::uint32_t words[kChunk];
  for (index_t start = 0; start < n; start += kChunk) {
    const index_t length = std::min(kChunk, n - start);
    scalar::random_words(args.seed, args.offset + std::uint64_t(start), length, words);
    for (index_t j = 0; j < length; ++j) {
      y[start + j] = scalar::dropout_value<T, Bits>(words[j], x[start + j], args.threshold, args.scale);
    }
  }
}

// Calls body(block, first, last, i) for each Philox block that covers positions
// [offset, offset + n), a block holding `per_block` consecutive positions: slots [first, last)
// of that block belong to out[i], out[i + 1], ...
template <unsigned per_block, class Body>
void for_each_block(index_t n, std::uint64_t offset, Body&& body) {
  std::uint64_t position = offset;
  for (index_t i = 0; i < n;) {
    const std::uint64_t block = position / per_block;
    const unsigned first = unsigned(position % per_block);
    const unsigned last = unsigned(std::min<std::uint64_t>(per_block, first + std::uint64_t(n - i)));
    body(block, first, last, i);
    i += last - first;
    position += last - first;
  }
}

void uniform_f32(float* out, index_t n, const UniformArgs& a) {
  for_each_block<4>(n, a.offset, [&](std::uint64_t b, unsigned first, unsigned last, index_t i) {
    const PhiloxBlock block = philox_block(a.seed, b);
    for (unsigned slot = first; slot < last; ++slot, ++i) {
      out[i] = scalar::uniform_value<float>(scalar::unit_from_word(block.word[slot]), a.low, a.span, a.high, a.below_high);
    }
  });
}

void uniform_f64(double* out, index_t n, const UniformArgs& a) {
  for_each_block<2>(n, a.offset, [&](std::uint64_t b, unsigned first, unsigned last, index_t i) {
    const PhiloxBlock block = philox_block(a.seed, b);
    for (unsigned slot = first; slot < last; ++slot, ++i) {
      const double u = scalar::unit_from_words(block.word[2 * slot], block.word[2 * slot + 1]);
      out[i] = scalar::uniform_value<double>(u, a.low, a.span, a.high, a.below_high);
    }
  });
}

template <class T>
void normal(T* out, index_t n, const NormalArgs& a) {
  for_each_block<2>(n, a.offset, [&](std::uint64_t b, unsigned first, unsigned last, index_t i) {
    double z[2];
    scalar::normal_pair(philox_block(a.seed, b), &z[0], &z[1]);
    for (unsigned slot = first; slot < last; ++slot, ++i) {
      const double value = a.truncate ? scalar::truncated_redraw(a.seed, 2 * b + slot, z[slot]) : z[slot];
      out[i] = T(a.mean + a.stddev * value);
    }
  });
}

}  // namespace

const RngKernels rng_kernels = {
    "generic",
    philox_blocks,
    random_words,
    dropout<float, std::uint32_t>,
    dropout<double, std::uint64_t>,
    uniform_f32,
    uniform_f64,
    normal<float>,
    normal<double>,
};

}  // namespace fastnn::generic
