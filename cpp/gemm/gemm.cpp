// The portable five-loop GEMM (BLIS's algorithm) around the micro-kernel of the chosen ISA:
//
//   jc: columns of C in steps of NC
//    pc: the reduction in steps of KC    — one kc x nc block of B packed (nb columns at a time,
//                                          in the jr loop, for rows that fit in one MC block);
//                                          each element's sum runs over pc in order
//     ic: rows of C in steps of MC       — one mc x kc block of A packed
//      jr: columns in steps of NR        — one packed B micro-panel stays in L1
//       ir: rows in steps of MR          — the micro-kernel: an MR x NR tile of C
//
// Narrow outputs (a few columns) go to a dot-product kernel instead where the ISA has one and it
// measured faster (gemm_narrow below; narrow.hpp).
//
// Threads split C into a 2-D grid of rectangles (at MR x NR granularity) and each runs the five
// loops over its own rectangle with its own packing buffers: no barrier inside a call, so a
// thread that the OS deschedules delays nobody but itself (a shared packed B would need two
// barriers per KC step, which an oversubscribed machine turns into a stall each). Packing B once
// per thread row costs about (threads / m) of the arithmetic. The reduction is never split and
// every tile runs the same micro-kernel whatever its size, so the result does not depend on the
// thread count.
#include "gemm.hpp"

#include <algorithm>
#include <cstring>

#include "../cpu/dispatch.hpp"
#include "../parallel.hpp"

namespace fastnn {
namespace {

// Multiply-adds a thread must get to be worth waking: about 30 us of work, against a fork/join
// that costs several microseconds on a quiet machine and far more on a busy one.
constexpr double kFlopsPerThread = 1 << 20;

struct ThreadGrid {
  index_t rows, cols;  // threads along M and along N; rows * cols == team size
};

// Picks the factorisation of `threads` that minimises the busiest thread's estimated time: its
// multiply-adds (about 16 per cycle with SIMD FMA) plus the elements it packs (about one per
// cycle). Packing is private, so splitting rows makes every thread pack all of its columns of B
// and splitting columns all of its rows of A: at training batch sizes (small m, large k x n)
// that decides the split.
ThreadGrid choose_grid(index_t m, index_t n, index_t k, index_t mr, index_t nr, index_t threads) {
  constexpr double kMultiplyAddsPerCycle = 16.0;
  const index_t row_tiles = ceil_div(m, mr), col_tiles = ceil_div(n, nr);
  ThreadGrid best{threads, 1};
  double best_cost = -1;
  for (index_t rows = threads; rows >= 1; --rows) {
    if (threads % rows != 0) continue;
    const index_t cols = threads / rows;
    const double m_t = double(ceil_div(row_tiles, rows) * mr), n_t = double(ceil_div(col_tiles, cols) * nr);
    const double cost = m_t * n_t * double(k) / kMultiplyAddsPerCycle + (m_t + n_t) * double(k);
    if (best_cost < 0 || cost < best_cost) {
      best = {rows, cols};
      best_cost = cost;
    }
  }
  return best;
}

// Per calling thread: every team member's packed A and B blocks. Grow-only, so steady-state
// calls do not allocate.
thread_local AlignedBuffer workspace;

template <class T>
struct GemmPlan {
  const GemmProblem<T>& problem;
  const TileEpilogue<T>* epilogue;
  GemmUkernel<T> ukernel;
  GemmBlocking blocking;  // kc already balanced for this problem's k (see gemm())
  ThreadGrid grid;
  index_t nc;            // columns packed at once: NC, or less when a thread's columns are fewer
                         // (nb of them at a time when its rows fit in one MC block)
  T* buffers;            // per team member: a_size values of packed A, b_size of packed B, then
                         // scratch_size for a packed-layout a_source's packing (0 otherwise)
  index_t a_size, b_size, scratch_size;
  bool transposed;       // problem is the caller's C^T = op(B)^T op(A)^T (see gemm()); its tiles
                         // are written transposed into the caller's C
};

constexpr index_t kMaxTransposedTile = 14 * 32;  // the largest micro-kernel tile (AVX-512 float32)

// One MR x NR tile of a transposed problem: computed in a scratch tile, then written transposed
// into the caller's C, whose block at (col, row) it is; the epilogue sees that block as usual.
// The kernel runs the same sums in the same order as it would on the caller's own problem
// (each element is one FMA chain over k, and a*b == b*a exactly), so C is bitwise the same.
template <class T>
void transposed_tile(const GemmPlan<T>& plan, index_t kc, const T* a, index_t rs_a, index_t cs_a, const T* b,
                     index_t rs_b, index_t row, index_t col, int m, int n, bool first, bool last) {
  const index_t nr = plan.blocking.nr;
  alignas(64) T tile[kMaxTransposedTile];
  T* c = plan.problem.c + col * plan.problem.rs_c + row;  // the caller's C(col, row)
  const index_t rs_c = plan.problem.rs_c;
  if (!first) {
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) tile[i * nr + j] = c[j * rs_c + i];
    }
  }
  plan.ukernel(kc, a, rs_a, cs_a, b, rs_b, tile, nr, m, n, !first);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) c[j * rs_c + i] = tile[i * nr + j];
  }
  if (last && plan.epilogue && plan.epilogue->apply) plan.epilogue->apply(plan.epilogue->context, c, rs_c, col, row, n, m);
}

// Packing copies a panel once so the micro-kernel reuses it from cache in a friendly layout. A
// panel the thread uses only a few times is cheaper to read in place: A (any strides) when the
// thread has few columns (narrow output layers), B (unit column stride only) when it has few
// rows (small batches).
constexpr index_t kUsesWorthPacking = 4;

// Thread `thread` of the grid computes its rectangle of C: the five loops over its own rows
// and columns, with its own packing buffers.
template <class T>
void gemm_thread(const GemmPlan<T>& plan, index_t thread) {
  const GemmProblem<T>& g = plan.problem;
  const GemmBlocking& bs = plan.blocking;
  const index_t mr = bs.mr, nr = bs.nr;
  const index_t row_tiles = ceil_div(g.m, mr), col_tiles = ceil_div(g.n, nr);
  const index_t grid_row = thread / plan.grid.cols, grid_col = thread % plan.grid.cols;
  const index_t row_begin = std::min(g.m, row_tiles * grid_row / plan.grid.rows * mr);
  const index_t row_end = std::min(g.m, row_tiles * (grid_row + 1) / plan.grid.rows * mr);
  const index_t col_begin = std::min(g.n, col_tiles * grid_col / plan.grid.cols * nr);
  const index_t col_end = std::min(g.n, col_tiles * (grid_col + 1) / plan.grid.cols * nr);
  T* packed_a = plan.buffers + thread * (plan.a_size + plan.b_size + plan.scratch_size);
  T* packed_b = packed_a + plan.a_size;
  T* scratch = packed_b + plan.b_size;
  // Full panels are read in place; a partial last panel is still packed (zero-padded).
  const bool a_in_place = !g.a_source && ceil_div(col_end - col_begin, nr) < kUsesWorthPacking;
  const bool b_in_place = g.b.cs == 1 && ceil_div(row_end - row_begin, mr) < kUsesWorthPacking;
  // Rows that fit in one MC block use each packed B panel in one sweep of the ir loop only, so
  // B is packed nb columns at a time, each group right before its micro-kernels, into the same
  // L2-sized buffer, instead of packing the whole kc x nc block first and sending it through
  // L3 and back: at (64, 4096, 4096) that took 1.04-1.22x the time, on one thread and on two.
  const bool b_streamed = !b_in_place && row_end - row_begin <= bs.mc;

  for (index_t jc = col_begin; jc < col_end; jc += plan.nc) {  // jc loop
    const index_t nc = std::min(plan.nc, col_end - jc);
    for (index_t pc = 0; pc < g.k; pc += bs.kc) {  // pc loop
      const index_t kc = std::min(bs.kc, g.k - pc);
      const bool first = pc == 0, last = pc + kc == g.k;
      if (!b_in_place && !b_streamed) {
        pack_b(g.b, pc, jc, kc, nc, nr, packed_b);
      } else if (b_in_place && nc % nr) {
        pack_b_panel(g.b, pc, jc + nc - nc % nr, kc, nc % nr, nr, packed_b);
      }
      for (index_t ic = row_begin; ic < row_end; ic += bs.mc) {  // ic loop
        const index_t mc = std::min(bs.mc, row_end - ic);
        // The strides of the block's panels at packed_a + ir * kc: pack_a's layout unless an
        // a_source leaves a row-major block to read in place.
        index_t rs = 1, cs = mr;
        if (g.a_source) {
          g.a_source->pack(g.a_source->context, ic, pc, mc, kc, mr, packed_a, scratch);
          if (g.a_source->layout == BlockLayout::rows) rs = kc, cs = 1;
        } else if (!a_in_place) {
          pack_a(g.a, ic, pc, mc, kc, mr, packed_a);
        } else if (mc % mr) {
          pack_a(g.a, ic + mc - mc % mr, pc, mc % mr, kc, mr, packed_a);
        }
        for (index_t jr = 0; jr < nc; jr += nr) {  // jr loop
          const index_t col = jc + jr;
          const int n = static_cast<int>(std::min(nr, nc - jr));
          if (b_streamed && jr % bs.nb == 0) pack_b(g.b, pc, col, kc, std::min(bs.nb, nc - jr), nr, packed_b);
          const bool b_full_in_place = b_in_place && n == nr;
          const index_t b_offset = b_in_place ? 0 : (b_streamed ? jr % bs.nb : jr) * kc;
          const T* b = b_full_in_place ? g.b.data + pc * g.b.rs + col : packed_b + b_offset;
          const index_t rs_b = b_full_in_place ? g.b.rs : nr;
          for (index_t ir = 0; ir < mc; ir += mr) {  // ir loop
            const index_t row = ic + ir;
            const int m = static_cast<int>(std::min(mr, mc - ir));
            const bool a_full_in_place = a_in_place && m == mr;
            const T* a = a_full_in_place ? g.a.data + row * g.a.rs + pc * g.a.cs : packed_a + (a_in_place ? 0 : ir * kc);
            const index_t rs_a = a_full_in_place ? g.a.rs : rs, cs_a = a_full_in_place ? g.a.cs : cs;
            if (plan.transposed) {
              transposed_tile(plan, kc, a, rs_a, cs_a, b, rs_b, row, col, m, n, first, last);
              continue;
            }
            T* c = g.c + row * g.rs_c + col;
            plan.ukernel(kc, a, rs_a, cs_a, b, rs_b, c, g.rs_c, m, n, !first);
            if (last && plan.epilogue && plan.epilogue->apply) plan.epilogue->apply(plan.epilogue->context, c, g.rs_c, row, col, m, n);
          }
        }
        if (last && plan.epilogue && plan.epilogue->finish) {  // the block, in the caller's coordinates
          const TileEpilogue<T>& e = *plan.epilogue;
          if (plan.transposed) {
            e.finish(e.context, g.c + jc * g.rs_c + ic, g.rs_c, jc, ic, nc, mc);
          } else {
            e.finish(e.context, g.c + ic * g.rs_c + jc, g.rs_c, ic, jc, mc, nc);
          }
        }
      }
    }
  }
}

// k == 0: C is a sum of nothing, so zero it and run the epilogue over it.
template <class T>
void gemm_empty_reduction(const GemmProblem<T>& g, const TileEpilogue<T>* epilogue) {
  const index_t grain = std::max<index_t>(1, (1 << 16) / std::max<index_t>(g.n, 1));
  parallel_for(g.m, grain, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) std::memset(g.c + i * g.rs_c, 0, sizeof(T) * g.n);
    T* c = g.c + begin * g.rs_c;
    if (epilogue && epilogue->apply) epilogue->apply(epilogue->context, c, g.rs_c, begin, 0, end - begin, g.n);
    if (epilogue && epilogue->finish) epilogue->finish(epilogue->context, c, g.rs_c, begin, 0, end - begin, g.n);
  });
}

// The share of a tile grid's lanes that hold C: an m x n product computed in MR x NR tiles.
double tile_use(index_t m, index_t n, index_t mr, index_t nr) {
  return double(m) / double(ceil_div(m, mr) * mr) * double(n) / double(ceil_div(n, nr) * nr);
}

// Narrow outputs (a 10-way layer: n = 10 against NR = 16 or 32) leave most of every tile's
// lanes idle; computing C^T = op(B)^T op(A)^T puts the long side of C along the vector lanes
// instead. Worth it when that fills a quarter more of the tiles (AVX2 at n = 10: 61% -> 83%;
// AVX-512: 29% -> 71%). Depends on the shapes alone, so results stay thread-count invariant.
// (Where the ISA has a narrow-output kernel, the products it takes never get here.)
bool computes_transposed(index_t m, index_t n, index_t mr, index_t nr) {
  return mr * nr <= kMaxTransposedTile && tile_use(n, m, mr, nr) > 1.25 * tile_use(m, n, mr, nr);
}

// The most values of op(B)ᵀ the narrow path packs: about what one thread's packed blocks hold on
// the tiles' path, so the grow-only workspace stays that size (a deeper product takes the tiles).
constexpr index_t kNarrowMaxPacked = index_t{1} << 20;

// Narrow outputs with A's rows contiguous along k go to the dot-product kernel (narrow.hpp)
// where the ISA has one and was measured faster (dispatch.cpp): op(B) is packed transposed once
// and shared, read-only, by threads that split the rows between them (a row's values do not
// depend on the split). Depends on the shapes and A's layout alone, never on the thread count.
template <class T>
bool takes_narrow_path(const GemmProblem<T>& g, const GemmKernel<T>& kernel) {
  const NarrowPath<T>& narrow = kernel.narrow;
  return narrow.kernel && g.n <= narrow.max_columns && g.n % kernel.blocking.nr != 0 &&
         (g.n <= narrow.group_columns || g.k >= narrow.min_depth) && g.n * g.k <= kNarrowMaxPacked &&
         !g.a_source && g.a.cs == 1;
}

constexpr index_t kNarrowRows = 48;  // rows per kernel call, finished while they are in L1

template <class T>
void gemm_narrow(const GemmProblem<T>& g, const TileEpilogue<T>* epilogue, NarrowKernel<T> narrow) {
  const index_t ld_bt = round_up(g.k, kAlignment / static_cast<index_t>(sizeof(T)));
  T* bt = workspace.reserve_as<T>(static_cast<std::size_t>(g.n * ld_bt));
  pack_b_transposed(g.b, g.k, g.n, ld_bt, bt);
  const double multiply_adds_per_row = static_cast<double>(g.n) * static_cast<double>(g.k);
  const index_t grain = std::max<index_t>(1, static_cast<index_t>(kFlopsPerThread / multiply_adds_per_row));
  parallel_for(g.m, grain, [&](index_t begin, index_t end) {
    for (index_t row = begin; row < end; row += kNarrowRows) {
      const index_t rows = std::min(kNarrowRows, end - row);
      T* c = g.c + row * g.rs_c;
      narrow(rows, g.n, g.k, g.a.data + row * g.a.rs, g.a.rs, bt, ld_bt, c, g.rs_c);
      if (epilogue && epilogue->apply) epilogue->apply(epilogue->context, c, g.rs_c, row, 0, rows, g.n);
      if (epilogue && epilogue->finish) epilogue->finish(epilogue->context, c, g.rs_c, row, 0, rows, g.n);
    }
  });
}

}  // namespace

template <class T>
void gemm(const GemmProblem<T>& caller, const TileEpilogue<T>* epilogue) {
  if (caller.m <= 0 || caller.n <= 0) return;
  if (caller.k <= 0) return gemm_empty_reduction(caller, epilogue);

  const GemmKernel<T>& kernel = gemm_kernel<T>();
  if (takes_narrow_path(caller, kernel)) return gemm_narrow(caller, epilogue, kernel.narrow.kernel);
  GemmBlocking bs = kernel.blocking;
  // (A problem with an a_source keeps its orientation: only A can be gathered.)
  const bool transposed = !caller.a_source && computes_transposed(caller.m, caller.n, bs.mr, bs.nr);
  const GemmProblem<T> g = transposed ? GemmProblem<T>{caller.n, caller.m, caller.k, {caller.b.data, caller.b.cs, caller.b.rs},
                                                       {caller.a.data, caller.a.cs, caller.a.rs}, caller.c, caller.rs_c}
                                      : caller;
  // Split the reduction into equal KC steps rather than full ones and a remainder: k = 784 at
  // KC = 256 becomes 4 x 196, not 3 x 256 + 16, whose last sweep would read and write every C
  // tile for 16 multiply-adds each. Depends on k alone, so results stay thread-count invariant.
  bs.kc = ceil_div(g.k, ceil_div(g.k, bs.kc));
  // An a_source's gathering is work the threads share too: an element gathered costs about what
  // 16 multiply-adds do (a cycle, as in choose_grid). It decides the threads of a product with
  // little arithmetic per element, a first convolution layer's (one channel: k = 9).
  const double flops = static_cast<double>(g.m) * static_cast<double>(g.k) *
                       (static_cast<double>(g.n) + (g.a_source ? 16.0 : 0.0));
  const index_t threads = threads_for(flops, kFlopsPerThread);
  const index_t row_tiles = ceil_div(g.m, bs.mr), col_tiles = ceil_div(g.n, bs.nr);
  const ThreadGrid grid = choose_grid(g.m, g.n, g.k, bs.mr, bs.nr, threads);

  // Allocate before the parallel region, so nothing inside it can throw.
  const index_t kc = bs.kc;
  const index_t nc = std::min(bs.nc, ceil_div(col_tiles, grid.cols) * bs.nr);
  const index_t thread_rows = ceil_div(row_tiles, grid.rows) * bs.mr;  // the most any thread gets
  // A thread's rows a little over one MC block (a batch of 128 at MC = 108) would leave a thin
  // second block, which streams all of the packed B block back from L3 for a few rows, and would
  // not stream B (gemm_thread): up to 1.5 MC rows make one block (then at most half of L2 instead
  // of a third). On a Zen 3 (MC 108), interleaved: at 1.25 MC (132), (128, 4096, 4096) X@W took
  // 0.91x the time and dY·Wᵀ 0.86x, the other batch-128 dense products within 5%; 1.5 MC (162)
  // took a 3x3 convolution's dW over 32 channels (288 rows of Pᵀ, gathered per block) to
  // 0.93-0.96x, dense products with 144-160 rows a thread within 1%. The block size never
  // changes the sums, only where a thread's rows are cut.
  if (thread_rows <= bs.mc + bs.mc / 2) bs.mc = std::max(bs.mc, thread_rows);
  const index_t rows = std::min(bs.mc, thread_rows);
  // Rows that fit in one MC block pack B at most nb columns at a time (see gemm_thread).
  const index_t b_columns = thread_rows <= bs.mc ? std::min(nc, bs.nb) : nc;
  const index_t a_size = round_up(rows * kc, kAlignment / sizeof(T));
  const index_t b_size = round_up(b_columns * kc, kAlignment / sizeof(T));
  // Only a source that packs goes through scratch; one that leaves rows writes dst directly.
  const bool source_packs = g.a_source && g.a_source->layout == BlockLayout::packed;
  const index_t scratch_size = source_packs ? rows * kc : 0;
  T* buffers = workspace.reserve_as<T>(static_cast<std::size_t>(threads * (a_size + b_size + scratch_size)));
  const GemmPlan<T> plan{g, epilogue, kernel.ukernel, bs, grid, nc, buffers, a_size, b_size, scratch_size, transposed};

  run_team(static_cast<int>(threads), [&](index_t thread, index_t team) {
    for (index_t part = thread; part < threads; part += team) gemm_thread(plan, part);
  });
}

template <class T>
bool gemm_packs_a(index_t n) {
  return ceil_div(n, gemm_kernel<T>().blocking.nr) >= kUsesWorthPacking;
}

template <class T>
bool gemm_reads_rows(index_t n) {
  return !gemm_packs_a<T>(n) || gemm_kernel<T>().fast_rows;
}

template <class T>
bool gemm_transposes(index_t m, index_t n) {
  const GemmBlocking& bs = gemm_kernel<T>().blocking;
  return computes_transposed(m, n, bs.mr, bs.nr);
}

template void gemm<float>(const GemmProblem<float>&, const TileEpilogue<float>*);
template void gemm<double>(const GemmProblem<double>&, const TileEpilogue<double>*);
template bool gemm_packs_a<float>(index_t);
template bool gemm_packs_a<double>(index_t);
template bool gemm_reads_rows<float>(index_t);
template bool gemm_reads_rows<double>(index_t);
template bool gemm_transposes<float>(index_t, index_t);
template bool gemm_transposes<double>(index_t, index_t);

}  // namespace fastnn
