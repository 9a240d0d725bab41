#include "random_bits.hpp"

#include "../parallel.hpp"
#include "philox.hpp"

namespace fastnn {

void random_words(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out) {
  if (count <= 0) return;
  std::uint64_t block = offset >> 2;
  index_t i = 0;
  // A partial first block when the offset is not a multiple of four.
  if (const unsigned first = unsigned(offset & 3); first != 0) {
    const PhiloxBlock head = philox_block(seed, block++);
    for (unsigned word = first; word < 4 && i < count; ++word) out[i++] = head.word[word];
  }
  for (; i + 4 <= count; i += 4) {
    const PhiloxBlock full = philox_block(seed, block++);
    out[i] = full.word[0];
    out[i + 1] = full.word[1];
    out[i + 2] = full.word[2];
    out[i + 3] = full.word[3];
  }
  if (i < count) {
    const PhiloxBlock tail = philox_block(seed, block);
    for (unsigned word = 0; i < count; ++word) out[i++] = tail.word[word];
  }
}

void random_words_parallel(std::uint64_t seed, std::uint64_t offset, index_t count, std::uint32_t* out) {
  parallel_for(count, index_t{1} << 15, [&](index_t begin, index_t end) {
    random_words(seed, offset + std::uint64_t(begin), end - begin, out + begin);
  });
}

}  // namespace fastnn
