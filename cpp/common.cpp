#include "common.hpp"

#include <cstdlib>
#include <new>

namespace fastnn {

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

void* AlignedBuffer::reserve(std::size_t bytes) {
  if (bytes <= capacity_) return data_;
  const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* fresh = std::aligned_alloc(kAlignment, rounded);
  if (fresh == nullptr) throw std::bad_alloc();
  std::free(data_);
  data_ = fresh;
  capacity_ = rounded;
  return data_;
}

}  // namespace fastnn
