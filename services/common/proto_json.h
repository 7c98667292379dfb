// Protobuf messages as JSON, the form Kiln stores specs, events and reports
// in (readable with psql, queryable with jsonb operators).
#pragma once

#include <string>

#include <google/protobuf/message.h>

#include "absl/status/status.h"

namespace kiln {

// Field names as in the .proto (snake_case); enums by name.
std::string ToJson(const google::protobuf::Message& message);

// Unknown fields are ignored, so rows written by a newer version still load.
absl::Status FromJson(const std::string& json, google::protobuf::Message* message);

}  // namespace kiln
