// A job spec read from a JSON file (kiln.v1.JobSpec in protobuf JSON).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "kiln/v1/training.pb.h"

namespace kiln::cli {

// InvalidArgument naming the file when it cannot be read or parsed.
absl::StatusOr<kiln::v1::JobSpec> ReadJobSpecFile(const std::string& path);

}  // namespace kiln::cli
