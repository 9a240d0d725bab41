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

// How a PackSource leaves a block of op(A) in dst: in pack_a's layout, or as a row-major block
// the micro-kernel reads in place, element (i, p) at dst[i * kc + p], with the rows from mc up
// to the next multiple of MR zero. Reading in place skips pack_a's transposing copy, which pays
// for a panel used by many column tiles unless the micro-kernel reads rows as fast as a packed
// panel (see gemm_reads_rows).
enum class BlockLayout { packed, rows };

// An op(A) that is never stored whole: `pack` writes op(A)[row : row + mc, col : col + kc] into
// dst in `layout` (room for mc rounded up to MR times kc values), using scratch (as much room,
// the GEMM's own) on the way. A convolution's patch matrix is one: gathered block by block as
// the GEMM needs it (implicit im2col, ops/conv.cpp), it never travels through memory in full.
// Called from several threads at once; must not throw.
template <class T>
struct PackSource {
  void (*pack)(const void* context, index_t row, index_t col, index_t mc, index_t kc, index_t mr, T* dst, T* scratch);
  const void* context;
  BlockLayout layout = BlockLayout::packed;
};

template <class T>
struct GemmProblem {
  index_t m, n, k;
  MatrixView<T> a;  // op(A), m x k (unused when a_source is set)
  MatrixView<T> b;  // op(B), k x n
  T* c;             // m x n, row-major with row stride rs_c; must not overlap A or B
  index_t rs_c;
  const PackSource<T>* a_source = nullptr;  // when set, op(A)'s blocks come from it
};

// Packed, cache-blocked GEMM over the micro-kernel chosen at run time. Parallel over the
// output only, so results are bitwise identical for any thread count. k == 0 gives C = 0
// (then the epilogue). Releases nothing and takes no lock: safe to call from many threads.
template <class T>
void gemm(const GemmProblem<T>& problem, const TileEpilogue<T>* epilogue = nullptr);

// Whether gemm packs op(A) for a product with n columns (else it reads full panels in place):
// a PackSource in pack_a's layout pays only where A is packed anyway.
template <class T>
bool gemm_packs_a(index_t n);

// Whether a PackSource that gathers rows of op(A) should leave them as a rows block for a
// product with n columns: where gemm would read A in place anyway, and at any width for a
// micro-kernel measured to read rows as fast as a packed panel (the AVX2 float32 one: a
// convolution's forward and backward took 0.96-0.97x the time of packing its patch rows).
template <class T>
bool gemm_reads_rows(index_t n);

// Whether gemm computes an m x n product as Cᵀ = op(B)ᵀ op(A)ᵀ (narrow outputs), which an
// a_source does not support: its caller must then store op(A). (Given a stored op(A) with
// contiguous rows, the product may go to the narrow-output kernel instead: gemm.cpp.)
template <class T>
bool gemm_transposes(index_t m, index_t n);

}  // namespace fastnn
