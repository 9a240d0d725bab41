#include "random_bits.hpp"

#include "../parallel.hpp"
#include "philox.hpp"

namespace fastnn {

void random_words(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out) {
  index_t i = 0;
  std::uint64_t position = offset;
  while (i < count) {
    const PhiloxBlock block = philox_block(seed, position >> 2);
    for (unsigned word = unsigned(position & 3); word < 4 && i < count; ++word, ++i, ++position) {
      out[i] = block.word[word];
    }
  }
}

void random_words_parallel(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out) {
  parallel_for(count, index_t{1} << 15, [&](index_t begin, index_t end) {
    random_words(seed, offset + std::uint64_t(begin), end - begin, out + begin);
  });
}

}  // namespace fastnn
