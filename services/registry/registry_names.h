// What the registry accepts as a model name, an alias name and a file path
// inside a bundle. Shared by the gRPC edge, the manifest parser and the HTTP
// router, so a name valid in one place is valid in all.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kiln::registry {

// The alias every publish moves; clients may not set or delete it.
inline constexpr char kLatestAlias[] = "latest";
// Travels in the publish header, not as a file; served beside the files.
inline constexpr char kManifestPath[] = "manifest.json";

// [a-z0-9][a-z0-9._-]{0,63}
bool IsValidModelName(absl::string_view name);

// [a-z][a-z0-9_-]{0,31}
bool IsValidAliasName(absl::string_view name);

// A relative path of 1..255 bytes of valid UTF-8: no leading "/", no empty,
// "." or ".." segment, no backslash, no control character. These are the
// rules that keep a path read from a manifest or a URL inside its bundle.
// InvalidArgument saying which rule `path` breaks.
absl::Status ValidateFilePath(absl::string_view path);

}  // namespace kiln::registry
