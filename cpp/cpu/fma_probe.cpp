#include "fma_probe.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "../parallel.hpp"
#include "dispatch.hpp"

namespace fastnn {

namespace generic {
// Plain C++ that the compiler vectorizes for the baseline ISA (SSE2 on x86-64): a multiply and
// an add per lane and step, as the generic micro-kernel does (no FMA contraction is allowed).
double fma_probe_f32(std::int64_t iterations, float* sink) {
  constexpr int kChains = 32;  // 8 SSE registers of 4 lanes
  float acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = float(i);
  for (std::int64_t step = 0; step < iterations; ++step) {
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
  }
  float total = 0;
  for (int i = 0; i < kChains; ++i) total += acc[i];
  *sink = total;
  return 2.0 * kChains * double(iterations);
}
}  // namespace generic

namespace {

using ProbeLoop = double (*)(std::int64_t, float*);

ProbeLoop probe_for_isa(Isa isa) {
  switch (isa) {
#if defined(FASTNN_HAVE_X86_KERNELS)
    case Isa::avx512: return &avx512::fma_probe_f32;
    case Isa::avx2: return &avx2::fma_probe_f32;
#endif
    default: return &generic::fma_probe_f32;
  }
}

}  // namespace

double fma_peak_gflops(int threads, double min_seconds) {
  using Clock = std::chrono::steady_clock;
  const ProbeLoop loop = probe_for_isa(kernels().isa);
  threads = std::max(threads, 1);
  constexpr std::int64_t kIterations = 1 << 20;  // ~0.5 ms per round at any ISA's peak
  std::vector<float> sinks(std::size_t(threads) * 16);  // written once per round: sharing a line costs nothing
  double best = 0;
  const Clock::time_point start = Clock::now();
  do {
    std::vector<double> flops(std::size_t(threads), 0.0);
    const Clock::time_point begin = Clock::now();
    run_team(threads, [&](int thread, int team) {
      for (int t = thread; t < threads; t += team) flops[std::size_t(t)] = loop(kIterations, &sinks[std::size_t(t) * 16]);
    });
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    best = std::max(best, std::accumulate(flops.begin(), flops.end(), 0.0) / seconds * 1e-9);
  } while (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds);
  return best;
}

}  // namespace fastnn
