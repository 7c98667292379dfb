// Schema `registry`: models, immutable versions, aliases and
// content-addressed blobs. The registry's logic, free of gRPC and HTTP;
// arguments must have been validated at the edge.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/v1/registry.pb.h"
#include "services/common/db/pool.h"
#include "services/registry/metric_requirements.h"
#include "services/registry/new_version.h"

namespace kiln::registry {

class RegistryStore {
 public:
  explicit RegistryStore(db::Pool& pool) : pool_(pool) {}

  // Stores the version in one transaction: the model (created on first
  // publish), the next version number (never reused, so concurrent
  // publishes get distinct ones), the blobs not stored yet, the file rows
  // and the alias `latest`. On any error nothing is stored.
  absl::StatusOr<kiln::v1::ModelVersion> Publish(const NewVersion& version);

  absl::StatusOr<std::vector<kiln::v1::Model>> ListModels();
  // NotFound for an unknown model.
  absl::StatusOr<kiln::v1::Model> GetModel(const std::string& name);

  struct VersionPage {
    // Newest first, without manifest_json (GetVersion has it).
    std::vector<kiln::v1::ModelVersion> versions;
    // The version to continue below, 0 when there are no more.
    int64_t next_before = 0;
  };
  // Versions numbered below `before` (all when 0), at most `page_size`.
  absl::StatusOr<VersionPage> ListVersions(const std::string& model, int page_size,
                                           int64_t before);

  // The version an alias points at; NotFound naming the model or alias.
  absl::StatusOr<int64_t> ResolveAlias(const std::string& model, const std::string& alias);
  // Everything about one version; NotFound naming the model or version.
  absl::StatusOr<kiln::v1::ModelVersion> GetVersion(const std::string& model, int64_t version);
  // A blob's bytes by sha256; NotFound if no version holds it.
  absl::StatusOr<std::string> ReadBlob(const std::string& sha256);

  // FailedPrecondition naming the aliases that point at the version;
  // otherwise removes it and the blobs no other version uses.
  absl::Status DeleteVersion(const std::string& model, int64_t version);

  // Points `alias` at the version if its metrics meet every requirement
  // (FailedPrecondition with the figures otherwise).
  absl::StatusOr<kiln::v1::Alias> SetAlias(const std::string& model, const std::string& alias,
                                           int64_t version, const Requirements& requirements);
  absl::Status DeleteAlias(const std::string& model, const std::string& alias);

 private:
  db::Pool& pool_;
};

}  // namespace kiln::registry
