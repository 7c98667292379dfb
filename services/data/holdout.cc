#include "services/data/holdout.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_format.h"

namespace kiln::data {

std::string HeldOutBound(double fraction) {
  // fraction < 1 keeps the product below 2^64 (at most 2^64 - 2^11).
  const auto bound = static_cast<uint64_t>(std::ldexp(fraction, 64));
  return absl::StrFormat("%016x", bound);
}

}  // namespace kiln::data
