// Client side of the registry, for programs that publish bundles (training,
// the CLI, tests, benchmarks).
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "kiln/v1/registry.grpc.pb.h"

namespace kiln::registry {

// Publishes one version: `header` (with the bundle's manifest.json), then
// every file of `files` (path -> bytes, manifest.json excluded) in chunks of
// at most 1 MiB, then the commit. Returns the stored version, or the
// registry's error with nothing stored.
absl::StatusOr<kiln::v1::ModelVersion> PublishBundle(
    kiln::v1::RegistryService::StubInterface& stub, const std::string& token,
    const kiln::v1::PublishHeader& header, const std::map<std::string, std::string>& files);

}  // namespace kiln::registry
