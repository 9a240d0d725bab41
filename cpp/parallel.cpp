#include "parallel.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#if defined(FASTNN_OPENMP)
#include <omp.h>
#endif
#if defined(__linux__)
#include <sched.h>
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

int current_cpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

void leave_cpu(int cpu) {
#if defined(__linux__)
  if (cpu < 0 || sched_getcpu() != cpu) return;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < team_size()) return;
  cpu_set_t elsewhere = allowed;
  CPU_CLR(cpu, &elsewhere);
  if (CPU_COUNT(&elsewhere) == 0) return;
  // Narrowing the mask migrates the thread at once; restoring it leaves the thread where it went.
  if (sched_setaffinity(0, sizeof(elsewhere), &elsewhere) == 0) sched_setaffinity(0, sizeof(allowed), &allowed);
#else
  (void)cpu;
#endif
}

}  // namespace fastnn
