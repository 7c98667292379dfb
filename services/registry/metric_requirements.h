// Metric gates on alias moves, e.g. `recall@1 >= 0.85` before `production`
// may point at a version.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_field.h"
#include "kiln/v1/registry.pb.h"

namespace kiln::registry {

using Requirements = google::protobuf::RepeatedPtrField<kiln::v1::MetricRequirement>;

// InvalidArgument for a requirement without a metric name, without a
// comparison, or with a threshold that is not finite.
absl::Status ValidateRequirements(const Requirements& requirements);

// OK when every requirement holds on `metrics`; otherwise
// FailedPrecondition listing every one that fails with the actual figure
// ("recall@1 >= 0.85 (actual 0.8123)"). A metric the version lacks fails.
absl::Status CheckRequirements(const std::map<std::string, double>& metrics,
                               const Requirements& requirements, absl::string_view subject);

}  // namespace kiln::registry
