// Whole-array helpers of a training loop: the finiteness check of its inputs and the gather of
// each shuffled batch. NumPy's versions are single-threaded and, for the check, write a boolean
// array as large as the input before reducing it.
#pragma once

#include <cstdint>

#include "../common.hpp"

namespace fastnn {

// Whether none of x[0:n] is NaN or infinite. Reads x once, in parallel.
template <class T>
bool all_finite(const T* x, index_t n);

// out row i = x row index[i] for i < count, rows of row_bytes bytes (any element type). Every
// index must be in [0, rows) (the caller checks). Rows are copied in parallel.
void take_rows(const void* x, index_t row_bytes, const std::int64_t* index, index_t count, void* out);

}  // namespace fastnn
