// "1922-1953,1960-1961" on the command line as year ranges; a single year
// "1990" is a range of one.
#pragma once

#include <string>

#include "google/protobuf/repeated_ptr_field.h"
#include "kiln/v1/common.pb.h"

namespace kiln::cli {

// Replaces `ranges`; false when `text` is not a list of ranges.
bool ParseYearRanges(const std::string& text,
                     google::protobuf::RepeatedPtrField<kiln::v1::YearRange>* ranges);

}  // namespace kiln::cli
