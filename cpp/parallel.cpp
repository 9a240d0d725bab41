#include "parallel.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#if defined(FASTNN_OPENMP)
#include <omp.h>
#endif

namespace fastnn {
namespace {

int default_threads() {
#if defined(FASTNN_OPENMP)
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> setting{default_threads()};
  return setting;
}

}  // namespace

bool openmp_enabled() {
#if defined(FASTNN_OPENMP)
  return true;
#else
  return false;
#endif
}

int num_threads() { return openmp_enabled() ? thread_setting().load(std::memory_order_relaxed) : 1; }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("Argument `n` must be a positive integer. Received: n=" + std::to_string(n));
  thread_setting().store(n, std::memory_order_relaxed);
}

int threads_for(double work, double grain) {
  const double useful = grain > 0 ? work / grain : work;
  if (useful < 2.0) return 1;
  return static_cast<int>(std::min<double>(num_threads(), useful));
}

int thread_index() {
#if defined(FASTNN_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

int team_size() {
#if defined(FASTNN_OPENMP)
  return omp_get_num_threads();
#else
  return 1;
#endif
}

}  // namespace fastnn
