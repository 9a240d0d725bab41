// Spatial dropout: inverted dropout of whole channels of a channels-last (batch, *spatial, channels)
// array. Channel c of sample n is dropped at every spatial position when the 32-bit draw at stream
// position offset + n * channels + c is below the dropout threshold (the rule and the stream of
// ops/dropout.hpp), and kept channels are scaled by 1 / (1 - rate). The (batch, channels) mask is
// therefore exactly the mask dropout() applies to a (batch, channels) array with the same
// parameters. Backward is the same call on dy (the map is linear and diagonal).
#pragma once

#include "../common.hpp"
#include "dropout.hpp"

namespace fastnn {

// x and y hold batch * positions * channels values; y may equal x.
template <class T>
void spatial_dropout(const T* x, T* y, index_t batch, index_t positions, index_t channels, const DropoutParams& params);

}  // namespace fastnn
