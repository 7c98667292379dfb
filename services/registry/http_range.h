// What a Range header asks of a representation (RFC 9110 section 14): the
// byte ranges to send, merged, or whether to send it whole or answer 416.
// Pure, so that it can be tested and fuzzed on its own.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace kiln::registry {

// More ranges than this, once overlapping and adjacent ones are merged, and
// the Range header is ignored: the whole representation is sent with 200,
// which RFC 9110 (14.2) allows for any Range header, and advises for many
// small ranges (a sign of a broken client or a denial-of-service attempt).
inline constexpr size_t kMaxByteRanges = 8;

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

struct RangeSelection {
  enum class Kind {
    kWhole,          // 200: no Range, not a bytes range, malformed, or too many ranges
    kPartial,        // 206 with `ranges`
    kUnsatisfiable,  // 416: well-formed, but no range overlaps the representation
  };
  Kind kind = Kind::kWhole;
  // kPartial: 1..kMaxByteRanges ranges within [0, size), ascending, neither
  // overlapping nor adjacent.
  std::vector<ByteRange> ranges;
};

// `header` is the Range field's value; `size` the representation's length.
RangeSelection SelectRanges(absl::string_view header, uint64_t size);

}  // namespace kiln::registry
