#include "services/model/random.h"

#include <cmath>
#include <numeric>
#include <utility>

namespace kiln::model {

float Random::Uniform01() { return static_cast<float>(engine_() >> 40) * (1.0f / 16777216.0f); }

float Random::Normal() {
  // 1 - u keeps the logarithm's argument in (0, 1].
  const double u1 = 1.0 - static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
  const double u2 = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

uint64_t Random::Below(uint64_t bound) {
  // Rejects the top partial block of the 64-bit range.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t draw;
  do {
    draw = engine_();
  } while (draw >= limit);
  return draw % bound;
}

uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  // SplitMix64 finaliser over both inputs: well mixed, cheap, specified here.
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<int64_t> Permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Random random(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[random.Below(static_cast<uint64_t>(i) + 1)]);
  }
  return order;
}

}  // namespace kiln::model
