// Softmax cross-entropy from logits with integer labels: the loss and its gradient in one pass
// over each row (the training loss of every classifier; in NumPy it took a dozen small calls).
#pragma once

#include <cstdint>

#include "../common.hpp"

namespace fastnn {

// logits: batch x classes, row-major; labels in [0, classes) (the caller checks). Returns the
// mean over rows of -log softmax(z)[label], summed in double in row order, and writes
// grad = (softmax(z) - onehot(label)) / batch. Each row is shifted by its maximum and worked in
// double, so neither exp overflows nor a large logit costs precision; a NaN or infinite logit
// gives a NaN loss. Single-threaded: a batch of logits is small.
template <class T>
double sparse_softmax_cross_entropy(const T* logits, const std::int64_t* labels, index_t batch, index_t classes, T* grad);

}  // namespace fastnn
