// Thread count and the one rule for running work in parallel.
//
// The thread count is a process-wide setting (like torch.set_num_threads), initialised from
// OpenMP's default, which honours OMP_NUM_THREADS. Every parallel region passes it explicitly,
// so a setting made from one Python thread applies to calls made from any other.
//
// Kernels never let an exception escape an OpenMP region (it would abort the process):
// ErrorTrap catches inside the region and rethrows on the calling thread afterwards.
#pragma once

#include <atomic>
#include <exception>
#include <mutex>

#include "common.hpp"

namespace fastnn {

bool openmp_enabled();
int num_threads();             // the current setting, >= 1 (always 1 without OpenMP)
void set_num_threads(int n);   // n >= 1; throws std::invalid_argument otherwise

// Threads worth using for `work` units when each thread should get at least `grain` units.
int threads_for(double work, double grain);

// Index of the calling thread within the current team, and the team size.
int thread_index();
int team_size();

// The CPU the calling thread runs on (-1 where the platform does not say).
int current_cpu();

// Called by each worker (not the thread that started the region) at the start of a region
// (run_team), with the CPU that thread ran on: a worker there moves to another CPU it may run on. Threads that
// sleep between regions (fastnn's passive wait policy) were often woken on the starting thread's
// CPU after the process had been idle: both then shared one CPU, at one thread's speed, until the
// scheduler's load balancer moved one (about 50 ms for 512x512 products on 2 vCPUs). The thread
// gets its affinity mask back as sched_getaffinity gave it; nothing moves when the team is larger
// than the CPUs it may use. (Since Linux 6.2 that mask then also counts as requested by the user:
// a worker that has moved does not follow a cpuset widened later, or CPUs added later.)
void leave_cpu(int cpu);

class ErrorTrap {
 public:
  template <class F>
  void run(F&& body) noexcept {
    try {
      body();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!first_) first_ = std::current_exception();
    }
  }
  void rethrow() {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr first_;
};

// Every parallel region of fastnn: body(thread, team) on each thread of a team of up to
// `threads` (OpenMP may grant fewer: a body that splits work among `threads` parts takes parts
// thread, thread + team, ...). Workers first leave the starting thread's CPU (leave_cpu). The body
// must not throw (see ErrorTrap).
template <class Body>
void run_team(int threads, Body&& body) {
#if defined(FASTNN_OPENMP)
  if (threads > 1) {
    const int caller_cpu = current_cpu();
#pragma omp parallel num_threads(threads)
    {
      const int thread = thread_index();
      if (thread != 0) leave_cpu(caller_cpu);
      body(thread, team_size());
    }
    return;
  }
#else
  (void)threads;
#endif
  body(0, 1);
}

// Calls body(begin, end) over [0, count) split into contiguous static chunks of at least
// `grain` items, one chunk per thread. The split never changes what is computed: kernels
// that use it compute each item independently of the others.
template <class Body>
void parallel_for(index_t count, index_t grain, Body&& body) {
  if (count <= 0) return;
  const int threads = threads_for(static_cast<double>(count), static_cast<double>(grain));
  if (threads <= 1) {
    body(index_t{0}, count);
    return;
  }
  ErrorTrap trap;
  run_team(threads, [&](index_t t, index_t nt) {
    const index_t begin = count * t / nt, end = count * (t + 1) / nt;
    if (begin < end) trap.run([&] { body(begin, end); });
  });
  trap.rethrow();
}

}  // namespace fastnn
