#include "blocking.hpp"

#include <algorithm>

namespace fastnn {

GemmBlocking derive_blocking(index_t mr, index_t nr, std::size_t element_size, const CacheSizes& caches) {
  const index_t size = static_cast<index_t>(element_size);
  GemmBlocking blocking{mr, nr, 0, 0, 0};
  // Half of L1 for the B micro-panel that every A micro-panel of the block streams past;
  // the other half for those A micro-panels and the C tile.
  blocking.kc = std::clamp<index_t>(caches.l1d / (2 * nr * size), 64, 512) / 8 * 8;
  // Half of L2 for the packed A block, the rest for B panels passing through.
  blocking.mc = std::clamp<index_t>(caches.l2 / (2 * blocking.kc * size), mr, 2048) / mr * mr;
  // A quarter of the (shared) L3 for the packed B block.
  blocking.nc = std::clamp<index_t>(caches.l3 / (4 * blocking.kc * size), 4 * nr, 8192) / nr * nr;
  return blocking;
}

}  // namespace fastnn
