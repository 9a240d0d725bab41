#include "softmax_cross_entropy.hpp"

#include <cmath>

namespace fastnn {

template <class T>
double sparse_softmax_cross_entropy(const T* logits, const std::int64_t* labels, index_t batch, index_t classes, T* grad) {
  double total = 0.0;
  const double inverse_batch = 1.0 / double(batch > 0 ? batch : 1);  // an empty batch: loss 0
  for (index_t i = 0; i < batch; ++i) {
    const T* z = logits + i * classes;
    T* g = grad + i * classes;
    double top = double(z[0]);
    for (index_t j = 1; j < classes; ++j) top = std::fmax(top, double(z[j]));
    double sum = 0.0;
    for (index_t j = 0; j < classes; ++j) sum += std::exp(double(z[j]) - top);
    const double log_sum = std::log(sum);
    const index_t label = index_t(labels[i]);
    total -= double(z[label]) - top - log_sum;
    for (index_t j = 0; j < classes; ++j) {
      const double p = std::exp(double(z[j]) - top - log_sum);
      g[j] = T((j == label ? p - 1.0 : p) * inverse_batch);
    }
  }
  return total * inverse_batch;
}

template double sparse_softmax_cross_entropy<float>(const float*, const std::int64_t*, index_t, index_t, float*);
template double sparse_softmax_cross_entropy<double>(const double*, const std::int64_t*, index_t, index_t, double*);

}  // namespace fastnn
