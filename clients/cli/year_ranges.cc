#include "clients/cli/year_ranges.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace kiln::cli {

bool ParseYearRanges(const std::string& text,
                     google::protobuf::RepeatedPtrField<kiln::v1::YearRange>* ranges) {
  ranges->Clear();
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::vector<absl::string_view> bounds = absl::StrSplit(part, '-');
    int first = 0, last = 0;
    if (bounds.size() > 2 || !absl::SimpleAtoi(bounds[0], &first) ||
        !absl::SimpleAtoi(bounds.back(), &last)) {
      return false;
    }
    auto* range = ranges->Add();
    range->set_first(first);
    range->set_last(last);
  }
  return !ranges->empty();
}

}  // namespace kiln::cli
