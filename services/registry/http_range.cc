#include "services/registry/http_range.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace kiln::registry {
namespace {

// Digits only (no sign, no spaces), within uint64.
bool ParsePosition(absl::string_view text, uint64_t* value) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), absl::ascii_isdigit)) return false;
  return absl::SimpleAtoi(text, value);
}

enum class Spec { kMalformed, kUnsatisfiable, kSatisfiable };

// One range-spec ("first-last", "first-" or "-suffix"), clipped to `size`.
Spec ParseSpec(absl::string_view spec, uint64_t size, ByteRange* range) {
  const size_t dash = spec.find('-');
  if (dash == absl::string_view::npos) return Spec::kMalformed;
  const absl::string_view first = spec.substr(0, dash);
  const absl::string_view last = spec.substr(dash + 1);
  uint64_t a = 0;
  uint64_t b = 0;
  if (first.empty()) {  // the last b bytes
    if (!ParsePosition(last, &b)) return Spec::kMalformed;
    if (b == 0 || size == 0) return Spec::kUnsatisfiable;
    *range = {size - std::min(b, size), size - 1};
    return Spec::kSatisfiable;
  }
  if (!ParsePosition(first, &a)) return Spec::kMalformed;
  if (last.empty()) {
    b = UINT64_MAX;
  } else if (!ParsePosition(last, &b) || b < a) {
    return Spec::kMalformed;
  }
  if (a >= size) return Spec::kUnsatisfiable;
  *range = {a, std::min(b, size - 1)};
  return Spec::kSatisfiable;
}

}  // namespace

RangeSelection SelectRanges(absl::string_view header, uint64_t size) {
  RangeSelection whole;
  absl::string_view specs = absl::StripAsciiWhitespace(header);
  // The range unit is case-insensitive; other units are ignored.
  if (specs.size() < 6 || !absl::EqualsIgnoreCase(specs.substr(0, 6), "bytes=")) return whole;
  specs.remove_prefix(6);
  std::vector<ByteRange> ranges;
  bool any = false;
  for (absl::string_view spec : absl::StrSplit(specs, ',')) {
    spec = absl::StripAsciiWhitespace(spec);
    if (spec.empty()) continue;  // lists may hold empty elements
    any = true;
    ByteRange range;
    switch (ParseSpec(spec, size, &range)) {
      case Spec::kMalformed:
        return whole;
      case Spec::kUnsatisfiable:
        break;
      case Spec::kSatisfiable:
        ranges.push_back(range);
        break;
    }
  }
  if (!any) return whole;
  RangeSelection selection;
  if (ranges.empty()) {
    selection.kind = RangeSelection::Kind::kUnsatisfiable;
    return selection;
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const ByteRange& x, const ByteRange& y) { return x.first < y.first; });
  for (const ByteRange& range : ranges) {
    // Merged when it overlaps or touches the previous one (last + 1 cannot
    // overflow: last < size).
    if (!selection.ranges.empty() && range.first <= selection.ranges.back().last + 1) {
      selection.ranges.back().last = std::max(selection.ranges.back().last, range.last);
    } else {
      selection.ranges.push_back(range);
    }
  }
  if (selection.ranges.size() > kMaxByteRanges) return whole;
  selection.kind = RangeSelection::Kind::kPartial;
  return selection;
}

}  // namespace kiln::registry
