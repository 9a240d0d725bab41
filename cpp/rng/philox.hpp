// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011): a counter-based generator. Every draw is a pure function of (key, counter), so any
// thread may compute any element, and results never depend on the thread count or ISA path.
//
// fastnn's stream layout. A stream is named by a 64-bit seed; the key is
// (seed mod 2^32, seed div 2^32). A draw sits at a 64-bit position. Each Philox block yields
// four 32-bit words; a kind of draw that uses w words per value packs 4 / w values per block:
//
//   value at position p  ->  block b = p div (4 / w), words [(p mod (4 / w)) * w, ... + w)
//   counter of block b   ->  (b mod 2^32, b div 2^32, attempt, 0)
//
// `attempt` is 0 except for rejection sampling, where redraw j of a value uses attempt j.
// A call with (seed, offset) places element i at position offset + i, so a window of a longer
// call equals a call with the matching offset.
//
// Header-only and `static` so every translation unit (per-ISA ones included) has its own copy.
#pragma once

#include <cstdint>

namespace fastnn {

struct PhiloxBlock {
  std::uint32_t word[4];
};

static inline PhiloxBlock philox4x32_10(const std::uint32_t counter[4], const std::uint32_t key[2]) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {  // the key schedule: a Weyl sequence, bumped before rounds 2..10
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    const std::uint64_t product0 = std::uint64_t(kMul0) * c0;
    const std::uint64_t product1 = std::uint64_t(kMul1) * c2;
    const std::uint32_t hi0 = std::uint32_t(product0 >> 32), lo0 = std::uint32_t(product0);
    const std::uint32_t hi1 = std::uint32_t(product1 >> 32), lo1 = std::uint32_t(product1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return PhiloxBlock{{c0, c1, c2, c3}};
}

// The block at index `block` of the stream `seed` (layout above).
static inline PhiloxBlock philox_block(std::uint64_t seed, std::uint64_t block, std::uint32_t attempt = 0) {
  const std::uint32_t counter[4] = {std::uint32_t(block), std::uint32_t(block >> 32), attempt, 0};
  const std::uint32_t key[2] = {std::uint32_t(seed), std::uint32_t(seed >> 32)};
  return philox4x32_10(counter, key);
}

}  // namespace fastnn
