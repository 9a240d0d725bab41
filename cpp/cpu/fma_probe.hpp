// The float32 multiply-add peak of the ISA path in use, measured: the yardstick for the GEMM
// benchmarks (a GEMM at 90% of this is at 90% of what the core can do on this path).
#pragma once

#include <cstdint>

namespace fastnn {

// Runs `iterations` steps of independent float32 FMA chains on each of `threads` threads at
// once, repeated until `min_seconds` have passed; returns the best rate seen, in GFLOP/s (an
// FMA counts as 2 FLOP).
double fma_peak_gflops(int threads, double min_seconds);

// One step of the per-ISA loops: enough independent chains to cover the FMA latency times the
// FMA ports (Zen 3: 4 x 2; Golden Cove's AVX-512: 4 x 2). Return the FLOP they did, with the
// chains' sum in *sink so the compiler cannot drop them.
namespace generic {
double fma_probe_f32(std::int64_t iterations, float* sink);
}
namespace avx2 {
double fma_probe_f32(std::int64_t iterations, float* sink);
}
namespace avx512 {
double fma_probe_f32(std::int64_t iterations, float* sink);
}

}  // namespace fastnn
