// A bundle's manifest.json as the registry reads it. The registry stores
// bundles of any layout, so it needs only the file list; the descriptive
// fields are picked up when present (docs/bundle.md, "manifest.json").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"

namespace kiln::registry {

inline constexpr int64_t kMaxManifestBytes = 4 << 20;
inline constexpr int kMaxManifestFiles = 10000;

struct Manifest {
  // Every file of the bundle but manifest.json, in manifest order; paths are
  // valid (ValidateFilePath), distinct and none is reserved.
  std::vector<kiln::v1::FileDigest> files;
  // "classes": class names in output order.
  std::vector<std::string> classes;
  // "model.weight_encoding" or "weight_encoding"; float32 when absent.
  kiln::v1::WeightEncoding weight_encoding = kiln::v1::WEIGHT_ENCODING_FLOAT32;
  // "preprocessing.spec_version" or "preprocess_spec_version".
  std::string preprocess_spec_version;
  // The numeric members of "metrics"; nested objects (per-class figures,
  // confusion matrices) stay in the manifest only.
  std::map<std::string, double> metrics;
};

// Parses and checks manifest.json. InvalidArgument naming the field for
// anything malformed: not a JSON object, a missing or bad "files" list, a
// path that is unsafe, repeated or reserved (manifest.json, metrics.json,
// bundle.tar.gz are names the HTTP API serves itself), a negative size, a
// sha256 that is not lower-case hex, a wrongly typed optional field.
absl::StatusOr<Manifest> ParseManifest(absl::string_view json);

// "float32", "float16", "uint8"; the names manifests and the schema use.
const char* WeightEncodingName(kiln::v1::WeightEncoding encoding);

}  // namespace kiln::registry
