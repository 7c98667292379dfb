// Which resource of the registry's HTTP API a request path names: the path
// percent-decoded, checked and split into model, alias, version and file.
// Pure (no I/O, no state), so that it can be tested and fuzzed on its own.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kiln::registry {

struct HttpRoute {
  enum class Kind {
    kHealth,         // /healthz
    kModels,         // /v1/models
    kModel,          // /v1/models/{model}
    kAliasManifest,  // /v1/models/{model}/aliases/{alias}/manifest.json
    kVersionFile,    // /v1/models/{model}/versions/{version}/{file...}
    kWebFile,        // anything else, when a web root is served
  };
  Kind kind = Kind::kHealth;
  std::string model;
  std::string alias;
  int64_t version = 0;
  // kVersionFile: the file's path inside the version (manifest.json,
  // metrics.json and the archives included). kWebFile: the path below the
  // web root, empty for its top.
  std::string file;
  // kWebFile: the path names a directory (it was empty or ended with "/").
  bool directory = false;
};

// `path` exactly as the request line carries it (percent-encoded, without
// the query). `web_root`: whether paths outside /v1/ name web-root files.
// InvalidArgument (a 400) for a malformed path: bad percent-encoding, bytes
// that are not UTF-8 once decoded, "."/".."/empty segments, backslashes,
// control characters, malformed names or versions. NotFound (a 404) for a
// well-formed path that no route matches.
absl::StatusOr<HttpRoute> ParseHttpRoute(absl::string_view path, bool web_root);

// One URL component with every %XX decoded ("+" stays "+"): InvalidArgument
// for a "%" not followed by two hex digits, or a result that is not UTF-8.
absl::StatusOr<std::string> PercentDecode(absl::string_view text);

}  // namespace kiln::registry
