// The names Kiln accepts, one rule and one refusal message each: models,
// aliases, and file paths inside a bundle. The training service (a job's
// model), the registry's gRPC edge, manifest parser and HTTP router all use
// these, so a name valid in one place is valid in all.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kiln {

// [a-z0-9][a-z0-9._-]{0,63}
bool IsValidModelName(absl::string_view name);

// [a-z][a-z0-9_-]{0,31}
bool IsValidAliasName(absl::string_view name);

// InvalidArgument `<field> "<name>" must match <the rule>` unless valid;
// `field` names where the name came from ("model name", "spec.model").
absl::Status ValidateModelName(absl::string_view name, absl::string_view field = "model name");
absl::Status ValidateAliasName(absl::string_view name, absl::string_view field = "alias name");

// A relative path of 1..255 bytes of valid UTF-8: no leading "/", no empty,
// "." or ".." segment, no backslash, no control character. These are the
// rules that keep a path read from a manifest or a URL inside its bundle.
// InvalidArgument saying which rule `path` breaks.
absl::Status ValidateFilePath(absl::string_view path);

}  // namespace kiln
