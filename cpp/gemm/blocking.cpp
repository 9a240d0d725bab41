#include "blocking.hpp"

#include <algorithm>

namespace fastnn {

index_t streamed_columns(const GemmBlocking& blocking, std::size_t element_size, const CacheSizes& caches) {
  const index_t size = static_cast<index_t>(element_size);
  // A quarter of L2, beside the small A block (m <= MC rows) of the threads that use it. On a
  // Zen 3 (512 KiB L2, KC 384, NR 16: 5 panels) 5, 8 and 16 panels ran within 6% of each other
  // at (64, 4096, 4096), 5 the best in two of its three products on two threads; 2 panels and the
  // whole kc x nc block were slower.
  const index_t panels = std::clamp<index_t>(caches.l2 / (4 * blocking.kc * blocking.nr * size), 1, blocking.nc / blocking.nr);
  return panels * blocking.nr;
}

GemmBlocking derive_blocking(index_t mr, index_t nr, std::size_t element_size, const CacheSizes& caches) {
  const index_t size = static_cast<index_t>(element_size);
  GemmBlocking blocking{mr, nr, 0, 0, 0, 0};
  // The kc x NR panel of B that every A micro-panel of a block streams past may fill L1: the
  // micro-kernel reads it at two vector loads per MR broadcasts, which L2 serves as fast, and a
  // deeper panel loads and stores each C tile fewer times. Measured at one thread on a Xeon with
  // a 48 KiB L1 (AVX-512, NR = 32): KC 384 ran 3-7% faster than 192 (half of L1) at MC 168, 336
  // and 1358 (one noisy sample at MC 672 went the other way); on a Zen 3 (AVX2, 32 KiB) 256 and
  // 384 could not be told apart. Capped at 384, a whole 48 KiB L1: 448 and 512 gave 0-4% more
  // in the same scan, within its noise.
  blocking.kc = std::clamp<index_t>(caches.l1d / (nr * size), 64, 384) / 8 * 8;
  // A third of L2 for the packed A block, the rest for the B panels and C tiles passing through.
  // On the same Xeon (2 MiB L2) MC between 168 and 672 rows made little difference, and half
  // of L2 (1358 rows) cost 10%.
  blocking.mc = std::clamp<index_t>(caches.l2 / (3 * blocking.kc * size), mr, 2048) / mr * mr;
  // A quarter of the (shared) L3 for the packed B block.
  blocking.nc = std::clamp<index_t>(caches.l3 / (4 * blocking.kc * size), 4 * nr, 8192) / nr * nr;
  blocking.nb = streamed_columns(blocking, element_size, caches);
  return blocking;
}

}  // namespace fastnn
