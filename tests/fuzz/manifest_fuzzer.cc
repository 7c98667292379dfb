// The registry's manifest.json parser (services/registry/manifest.h) on any
// bytes: a status for whatever it refuses, and for whatever it accepts the
// promises its header makes.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "services/common/sha256.h"
#include "services/common/validation.h"
#include "services/registry/manifest.h"
#include "services/registry/registry_names.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<kiln::registry::Manifest> manifest = kiln::registry::ParseManifest(text);
  if (!manifest.ok()) {
    // The message reaches gRPC clients and HTTP JSON bodies as it is.
    FUZZ_CHECK(manifest.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(kiln::IsValidUtf8(manifest.status().message()));
    return 0;
  }
  FUZZ_CHECK(manifest->files.size() <= static_cast<size_t>(kiln::registry::kMaxManifestFiles));
  std::set<std::string> paths;
  for (const kiln::v1::FileDigest& file : manifest->files) {
    FUZZ_CHECK(kiln::ValidateFilePath(file.path()).ok());
    FUZZ_CHECK(file.path() != "manifest.json" && file.path() != "metrics.json" &&
               file.path() != "bundle.tar.gz");
    FUZZ_CHECK(paths.insert(file.path()).second);
    FUZZ_CHECK(file.size() >= 0);
    FUZZ_CHECK(kiln::IsSha256Hex(file.sha256()));
  }
  // Everything below is stored as PostgreSQL text: UTF-8 without NUL.
  auto storable = [](const std::string& s) {
    return kiln::IsValidUtf8(s) && s.find('\0') == std::string::npos;
  };
  for (const std::string& name : manifest->classes) FUZZ_CHECK(storable(name));
  FUZZ_CHECK(storable(manifest->preprocess_spec_version));
  for (const auto& [name, value] : manifest->metrics) {
    FUZZ_CHECK(storable(name));
    FUZZ_CHECK(std::isfinite(value));
  }
  FUZZ_CHECK(kiln::registry::WeightEncodingName(manifest->weight_encoding) != nullptr);
  return 0;
}
