// Checks shared by every service's edge: text encoding, names, dataset
// specs. Each returns InvalidArgument naming the field and what is allowed.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"

namespace kiln {

bool IsValidUtf8(absl::string_view text);

// `text` made safe to echo in an error or a JSON document: at most
// `max_bytes` of whole UTF-8 characters, each invalid byte replaced by U+FFFD.
std::string EchoableUtf8(absl::string_view text, size_t max_bytes);

// A category (newsgroup) name: 1..128 characters of [A-Za-z0-9._+-].
bool IsValidCategory(absl::string_view name);

// `field` names the spec in messages, e.g. "dataset" or "spec.train_years".
// Requires at least one category and one year range; categories valid and
// distinct; ranges within 1..9999, first <= last, not overlapping; a
// holdout with a fraction in (0, 1) and a side.
absl::Status ValidateDatasetSpec(const kiln::v1::DatasetSpec& spec, absl::string_view field);

// Same rules for a list of year ranges alone.
absl::Status ValidateYearRanges(
    const google::protobuf::RepeatedPtrField<kiln::v1::YearRange>& ranges,
    absl::string_view field);

// A list RPC's page_size: 1..500, or 0 (unset) for the default, 50.
absl::Status ValidatePageSize(int page_size);

}  // namespace kiln
