// C = op(A) · op(B), optionally followed by a fused epilogue on each finished tile.
#pragma once

#include "../common.hpp"
#include "pack.hpp"

namespace fastnn {

// `apply` is called once per tile of C right after its last reduction step, while the tile is
// still in L1: c points at C(row, col), the tile is m x n with row stride rs_c. `finish`, when
// set, is called once per cache block of C (up to MC rows by NC columns, in L2) after all of its
// tiles: for work that runs better over long rows than over tile rows (dropout's draws).
// Either may be null; neither may throw.
template <class T>
struct TileEpilogue {
  using Function = void (*)(const void* context, T* c, index_t rs_c, index_t row, index_t col, index_t m, index_t n);
  Function apply;
  const void* context;
  Function finish = nullptr;
};

template <class T>
struct GemmProblem {
  index_t m, n, k;
  MatrixView<T> a;  // op(A), m x k
  MatrixView<T> b;  // op(B), k x n
  T* c;             // m x n, row-major with row stride rs_c; must not overlap A or B
  index_t rs_c;
};

// Packed, cache-blocked GEMM over the micro-kernel chosen at run time. Parallel over the
// output only, so results are bitwise identical for any thread count. k == 0 gives C = 0
// (then the epilogue). Releases nothing and takes no lock: safe to call from many threads.
template <class T>
void gemm(const GemmProblem<T>& problem, const TileEpilogue<T>* epilogue = nullptr);

}  // namespace fastnn
