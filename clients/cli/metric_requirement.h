// "recall@1>=0.85" as a registry MetricRequirement: the gate of an alias
// move, for `kiln promote --require` and `kiln sweep --require`.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "kiln/v1/registry.pb.h"

namespace kiln::cli {

// InvalidArgument quoting `text` when it is not METRIC OP NUMBER.
absl::StatusOr<kiln::v1::MetricRequirement> ParseRequirement(const std::string& text);

}  // namespace kiln::cli
