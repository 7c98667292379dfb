// Client side of the registry: publishing a bundle and fetching a version's
// files (the worker, the evaluation service, the CLI, tests, benchmarks).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

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

// File name -> bytes, as in model::BundleFiles.
using Files = std::map<std::string, std::string>;

class RegistryClient {
 public:
  RegistryClient(std::shared_ptr<grpc::Channel> channel, std::string token);

  // Streams header, every file but manifest.json (in 1 MiB chunks), then the
  // commit. `files` must hold manifest.json.
  absl::StatusOr<kiln::v1::ModelVersion> Publish(const std::string& model, const Files& files,
                                                 const std::map<std::string, double>& metrics,
                                                 const kiln::v1::Lineage& lineage,
                                                 const std::string& description);

  // The version and all its files, manifest.json included.
  absl::StatusOr<std::pair<kiln::v1::ModelVersion, Files>> Download(const kiln::v1::VersionRef& ref);

  absl::StatusOr<kiln::v1::ModelVersion> GetVersion(const kiln::v1::VersionRef& ref);

 private:
  std::unique_ptr<kiln::v1::RegistryService::Stub> stub_;
  const std::string token_;
};

}  // namespace kiln::registry
