// Which posts a Holdout (proto/kiln/v1/common.proto) holds out: those whose
// content hash begins below fraction × 2^64. The hash is all that decides,
// so a post keeps its side across ranks, attempts, imports and post ids.
#pragma once

#include <string>

namespace kiln::data {

// fraction × 2^64, rounded down, as 16 lower-case hex digits. Content hashes
// are lower-case hex of a fixed length, so comparing their first 16 digits
// with this bound byte by byte compares the numbers. `fraction` is in (0, 1).
std::string HeldOutBound(double fraction);

}  // namespace kiln::data
