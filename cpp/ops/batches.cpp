#include "batches.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "../parallel.hpp"

namespace fastnn {
namespace {

// An IEEE value is NaN or infinite exactly when its exponent bits are all ones. Tested on the
// bits: an integer comparison that vectorizes, so the pass reads at memory speed (60000 x 784
// float32 in 11 ms on two threads here).
template <class T>
struct FloatBits;
template <>
struct FloatBits<float> {
  using Word = std::uint32_t;
  static constexpr Word exponent = 0x7f800000u;
};
template <>
struct FloatBits<double> {
  using Word = std::uint64_t;
  static constexpr Word exponent = 0x7ff0000000000000ull;
};

constexpr index_t kCheckGrain = index_t{1} << 16;  // values per thread, at least
constexpr index_t kBlock = 4096;                   // values between looks at the shared flag

}  // namespace

template <class T>
bool all_finite(const T* x, index_t n) {
  using Word = typename FloatBits<T>::Word;
  constexpr Word exponent = FloatBits<T>::exponent;
  std::atomic<bool> found{false};
  parallel_for(n, kCheckGrain, [&](index_t begin, index_t end) {
    for (index_t block = begin; block < end && !found.load(std::memory_order_relaxed); block += kBlock) {
      const index_t stop = std::min(end, block + kBlock);
      Word bad = 0;
      for (index_t i = block; i < stop; ++i) {
        Word bits;
        std::memcpy(&bits, x + i, sizeof bits);
        bad |= Word((bits & exponent) == exponent);
      }
      if (bad) found.store(true, std::memory_order_relaxed);
    }
  });
  return !found.load();
}

void take_rows(const void* x, index_t row_bytes, const std::int64_t* index, index_t count, void* out) {
  const auto* source = static_cast<const unsigned char*>(x);
  auto* target = static_cast<unsigned char*>(out);
  // Rows of a shuffled batch come from anywhere in the array, mostly from memory: two threads
  // keep twice the misses in flight. About 64 KiB per thread at least, else one thread.
  const index_t grain = std::max<index_t>(1, (index_t{1} << 16) / std::max<index_t>(row_bytes, 1));
  parallel_for(count, grain, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      std::memcpy(target + i * row_bytes, source + index[i] * row_bytes, static_cast<std::size_t>(row_bytes));
    }
  });
}

template bool all_finite<float>(const float*, index_t);
template bool all_finite<double>(const double*, index_t);

}  // namespace fastnn
