// Shared basics for every kernel: the index type, aligned scratch memory, integer rounding.
// Included by the per-ISA files too, so its only inline code is integer arithmetic that no ISA
// flag changes (see STYLE.md: shared inline helpers).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fastnn {

// Signed 64-bit indices everywhere: sizes past 2^31 elements must work, and strides may be
// negative (NumPy views).
using index_t = std::int64_t;

// Byte alignment of packed panels and scratch buffers: one cache line, one AVX-512 register.
constexpr std::size_t kAlignment = 64;

// A grow-only, 64-byte-aligned scratch buffer. Reused across calls so hot paths do not
// allocate; contents are not preserved when it grows.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer();

  // Returns a pointer to at least `bytes` bytes (throws std::bad_alloc on failure).
  void* reserve(std::size_t bytes);

  template <class T>
  T* reserve_as(std::size_t count) {
    return static_cast<T*>(reserve(count * sizeof(T)));
  }

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

// Rounds `value` up to a multiple of `step` (step > 0).
constexpr index_t round_up(index_t value, index_t step) { return (value + step - 1) / step * step; }

constexpr index_t ceil_div(index_t value, index_t step) { return (value + step - 1) / step; }

}  // namespace fastnn
