// Deterministic random numbers for initialisation and shuffling.
//
// Only std::mt19937_64's output is specified by the standard; the standard
// distributions are not, so they are written out here: the same seed gives
// the same weights and the same sample order with any standard library.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace kiln::model {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1) with 24 random bits (every float is exact).
  float Uniform01();
  // Uniform in [low, high).
  float Uniform(float low, float high) { return low + (high - low) * Uniform01(); }
  // Standard normal (Box-Muller, one value per call).
  float Normal();
  // Uniform integer in [0, bound), bound > 0, without modulo bias.
  uint64_t Below(uint64_t bound);

 private:
  std::mt19937_64 engine_;
};

// A stream seed derived from a base seed and a purpose/index, so that e.g.
// the shuffle of epoch k does not depend on how many numbers epoch k-1 drew
// (which is what makes resuming from a checkpoint exact).
uint64_t DeriveSeed(uint64_t seed, uint64_t stream);

// A uniformly random permutation of [0, n).
std::vector<int64_t> Permutation(int64_t n, uint64_t seed);

}  // namespace kiln::model
