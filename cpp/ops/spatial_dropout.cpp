#include "spatial_dropout.hpp"

#include <algorithm>
#include <vector>

#include "../parallel.hpp"
#include "../rng/random_bits.hpp"

namespace fastnn {

template <class T>
void spatial_dropout(const T* x, T* y, index_t batch, index_t positions, index_t channels, const DropoutParams& params) {
  // The draws are few (one per sample and channel): generate them all first, then mask the rows.
  std::vector<std::uint32_t> words(std::size_t(batch * channels));
  random_words_parallel(params.seed, params.offset, batch * channels, words.data());
  const std::uint32_t threshold = params.threshold;
  const T scale = T(params.keep_scale);
  const index_t grain = std::max<index_t>(1, (index_t{1} << 15) / std::max<index_t>(channels, 1));
  parallel_for(batch * positions, grain, [&](index_t begin, index_t end) {
    for (index_t row = begin; row < end; ++row) {
      const index_t sample = row / positions;
      apply_dropout(words.data() + sample * channels, x + row * channels, y + row * channels, channels, threshold, scale);
    }
  });
}

template void spatial_dropout<float>(const float*, float*, index_t, index_t, index_t, const DropoutParams&);
template void spatial_dropout<double>(const double*, double*, index_t, index_t, index_t, const DropoutParams&);

}  // namespace fastnn
