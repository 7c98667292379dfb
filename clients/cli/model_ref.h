// "news", "news:3" and "news@production" as a registry VersionRef.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "kiln/v1/common.pb.h"

namespace kiln::cli {

// A bare model name means its `latest` alias.
absl::StatusOr<kiln::v1::VersionRef> ParseModelRef(const std::string& text);

std::string DescribeRef(const kiln::v1::VersionRef& ref);

}  // namespace kiln::cli
