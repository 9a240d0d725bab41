// Portable loops compiled a second time for AVX2, for the kernels that have no per-ISA
// translation unit of their own (batch normalization, pooling, the optimizer updates: they call
// parallel_for_vectorized below): the compiler vectorizes them 8 floats wide instead of the
// x86-64 baseline's 4.
#pragma once

#include "../parallel.hpp"
#include "dispatch.hpp"

namespace fastnn {

#if defined(FASTNN_HAVE_X86_KERNELS)
// f() with everything it calls inlined into this one function, compiled for AVX2 (flatten). A
// call the compiler cannot inline stays a call to the baseline code, so no AVX2 instruction
// reaches code that runs on other paths.
template <class F>
[[gnu::target("avx2"), gnu::flatten]] void run_avx2(F& f) {
  f();
}
#endif

// f(), compiled for the widest vector ISA that the kernel table's path allows (FASTNN_ISA caps
// it). Only the instruction set differs: f's results are the same on every path as long as
// its floating-point operations are (no FMA contraction: -ffp-contract=off).
template <class F>
void with_vector_isa(F&& f) {
#if defined(FASTNN_HAVE_X86_KERNELS)
  if (kernels().isa >= Isa::avx2) return run_avx2(f);
#endif
  f();
}

// parallel_for (parallel.hpp) whose every thread runs body(begin, end) through with_vector_isa.
template <class Body>
void parallel_for_vectorized(index_t count, index_t grain, Body&& body) {
  parallel_for(count, grain, [&](index_t begin, index_t end) { with_vector_isa([&] { body(begin, end); }); });
}

}  // namespace fastnn
