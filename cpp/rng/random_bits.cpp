#include "random_bits.hpp"

#include "../parallel.hpp"

namespace fastnn {

void random_words_parallel(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out) {
  const RngKernels& kernels = rng_kernels();
  parallel_for(count, index_t{1} << 15, [&](index_t begin, index_t end) {
    kernels.random_words(seed, offset + std::uint64_t(begin), end - begin, out + begin);
  });
}

}  // namespace fastnn
