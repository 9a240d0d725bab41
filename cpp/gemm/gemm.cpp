// The portable five-loop GEMM (BLIS's algorithm) around the micro-kernel of the chosen ISA:
//
//   jc: columns of C in steps of NC      — one kc x nc block of B packed, shared by the team
//    pc: the reduction in steps of KC    — each element's sum runs over pc in order
//     ic: rows of C in steps of MC       — each thread packs its own mc x kc block of A
//      jr: columns in steps of NR        — one packed B micro-panel stays in L1
//       ir: rows in steps of MR          — the micro-kernel: an MR x NR tile of C
//
// Threads split the (ir, jr) tiles of each jc block in a 2-D grid; they never split the
// reduction, and every tile runs the same micro-kernel whatever its size, so the result does
// not depend on the thread count.
#include "gemm.hpp"

#include <algorithm>
#include <cstring>

#include "../cpu/dispatch.hpp"
#include "../parallel.hpp"

namespace fastnn {
namespace {

// Multiply-adds below which a thread is not worth waking.
constexpr double kFlopsPerThread = 1 << 17;

struct ThreadGrid {
  index_t rows, cols;  // threads along M and along N; rows * cols == team size
};

// Picks the factorisation of `threads` that minimises the tiles of the busiest thread,
// preferring to split rows (each thread then packs only its own part of A).
ThreadGrid choose_grid(index_t row_tiles, index_t col_tiles, index_t threads) {
  ThreadGrid best{threads, 1};
  index_t best_cost = -1;
  for (index_t rows = threads; rows >= 1; --rows) {
    if (threads % rows != 0) continue;
    const index_t cols = threads / rows;
    const index_t cost = ceil_div(row_tiles, rows) * ceil_div(col_tiles, cols);
    if (best_cost < 0 || cost < best_cost) {
      best = {rows, cols};
      best_cost = cost;
    }
  }
  return best;
}

// Per calling thread: packed B (shared with its team) and one packed A block per team member.
// Grow-only, so steady-state calls do not allocate.
struct GemmWorkspace {
  AlignedBuffer packed_b, packed_a;
};
thread_local GemmWorkspace workspace;

template <class T>
struct GemmPlan {
  const GemmProblem<T>& problem;
  const TileEpilogue<T>* epilogue;
  GemmUkernel<T> ukernel;
  GemmBlocking blocking;
  T* packed_b;
  T* packed_a;  // team_size blocks of a_block_size values
  index_t a_block_size;
};

// One thread's share of the GEMM. Called inside the parallel region, or directly when single
// threaded; its `omp for` and `omp barrier` bind to the enclosing region, if any.
template <class T>
void gemm_thread(const GemmPlan<T>& plan, index_t thread, index_t team) {
  const GemmProblem<T>& g = plan.problem;
  const GemmBlocking& bs = plan.blocking;
  const index_t mr = bs.mr, nr = bs.nr;
  T* packed_a = plan.packed_a + thread * plan.a_block_size;
  const index_t row_tiles = ceil_div(g.m, mr);
  for (index_t jc = 0; jc < g.n; jc += bs.nc) {  // jc loop
    const index_t nc = std::min(bs.nc, g.n - jc);
    const index_t col_tiles = ceil_div(nc, nr);
    const ThreadGrid grid = choose_grid(row_tiles, col_tiles, team);
    const index_t grid_row = thread / grid.cols, grid_col = thread % grid.cols;
    const index_t row_begin = std::min(g.m, row_tiles * grid_row / grid.rows * mr);
    const index_t row_end = std::min(g.m, row_tiles * (grid_row + 1) / grid.rows * mr);
    const index_t tile_begin = col_tiles * grid_col / grid.cols;
    const index_t tile_end = col_tiles * (grid_col + 1) / grid.cols;

    for (index_t pc = 0; pc < g.k; pc += bs.kc) {  // pc loop
      const index_t kc = std::min(bs.kc, g.k - pc);
      const bool first = pc == 0, last = pc + kc == g.k;

      // The team packs the kc x nc block of B together, one NR-wide panel per iteration.
#if defined(FASTNN_OPENMP)
#pragma omp for schedule(static)
#endif
      for (index_t tile = 0; tile < col_tiles; ++tile) {
        const index_t col = tile * nr;
        pack_b_panel(g.b, pc, jc + col, kc, std::min(nr, nc - col), nr, plan.packed_b + tile * nr * kc);
      }

      for (index_t ic = row_begin; ic < row_end; ic += bs.mc) {  // ic loop
        const index_t mc = std::min(bs.mc, row_end - ic);
        pack_a(g.a, ic, pc, mc, kc, mr, packed_a);
        for (index_t tile = tile_begin; tile < tile_end; ++tile) {  // jr loop
          const index_t col = jc + tile * nr;
          const int n = static_cast<int>(std::min(nr, g.n - col));
          const T* b_panel = plan.packed_b + tile * nr * kc;
          for (index_t ir = 0; ir < mc; ir += mr) {  // ir loop
            const index_t row = ic + ir;
            const int m = static_cast<int>(std::min(mr, mc - ir));
            T* c = g.c + row * g.rs_c + col;
            plan.ukernel(kc, packed_a + ir * kc, b_panel, c, g.rs_c, m, n, !first);
            if (last && plan.epilogue) plan.epilogue->apply(plan.epilogue->context, c, g.rs_c, row, col, m, n);
          }
        }
      }
      // Nobody repacks B while a teammate may still be reading it.
#if defined(FASTNN_OPENMP)
#pragma omp barrier
#endif
    }
  }
}

// k == 0: C is a sum of nothing, so zero it and run the epilogue over it.
template <class T>
void gemm_empty_reduction(const GemmProblem<T>& g, const TileEpilogue<T>* epilogue) {
  const index_t grain = std::max<index_t>(1, (1 << 16) / std::max<index_t>(g.n, 1));
  parallel_for(g.m, grain, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) std::memset(g.c + i * g.rs_c, 0, sizeof(T) * g.n);
    if (epilogue) epilogue->apply(epilogue->context, g.c + begin * g.rs_c, g.rs_c, begin, 0, end - begin, g.n);
  });
}

}  // namespace

template <class T>
void gemm(const GemmProblem<T>& g, const TileEpilogue<T>* epilogue) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) return gemm_empty_reduction(g, epilogue);

  const GemmKernel<T>& kernel = gemm_kernel<T>();
  const GemmBlocking& bs = kernel.blocking;
  const double flops = static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  const index_t threads = threads_for(flops, kFlopsPerThread);

  // Allocate before the parallel region, so nothing inside it can throw.
  const index_t kc = std::min(bs.kc, g.k);
  const index_t a_block_size = round_up(std::min(bs.mc, round_up(g.m, bs.mr)), bs.mr) * kc;
  const index_t b_block_size = round_up(std::min(bs.nc, g.n), bs.nr) * kc;
  GemmPlan<T> plan{g, epilogue, kernel.ukernel, bs,
                   workspace.packed_b.reserve_as<T>(b_block_size),
                   workspace.packed_a.reserve_as<T>(a_block_size * threads), a_block_size};

  if (threads <= 1) return gemm_thread(plan, 0, 1);
#if defined(FASTNN_OPENMP)
#pragma omp parallel num_threads(static_cast<int>(threads))
  gemm_thread(plan, thread_index(), team_size());
#endif
}

template void gemm<float>(const GemmProblem<float>&, const TileEpilogue<float>*);
template void gemm<double>(const GemmProblem<double>&, const TileEpilogue<double>*);

}  // namespace fastnn
