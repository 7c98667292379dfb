// What HTTP requests and downloads read, kept in memory: version snapshots
// and alias resolutions for a short time-to-live (TtlCache), blob contents
// in an LRU (BlobCache). Versions are immutable, so only deletes and alias
// moves can make an entry stale: this process forgets a model's entries
// when it changes the model (Forget), other replicas' changes show here
// within about the time-to-live.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kiln/v1/registry.pb.h"
#include "services/registry/blob_cache.h"
#include "services/registry/registry_store.h"
#include "services/registry/ttl_cache.h"

namespace kiln::registry {

// One version as served: the stored record with its manifest.
struct VersionSnapshot {
  kiln::v1::ModelVersion version;
  // The metrics as a JSON object, the body of metrics.json.
  std::string metrics_json;

  // The manifest entry of `path`; null when the version has no such file.
  const kiln::v1::FileDigest* File(const std::string& path) const;
};

class ServingCache {
 public:
  struct Options {
    int64_t max_blob_bytes = int64_t{256} << 20;
    absl::Duration metadata_ttl = absl::Seconds(1);
  };

  ServingCache(RegistryStore& store, Options options);

  // NotFound as RegistryStore::GetVersion.
  absl::StatusOr<std::shared_ptr<const VersionSnapshot>> Version(const std::string& model,
                                                                 int64_t version);
  // NotFound as RegistryStore::ResolveAlias.
  absl::StatusOr<int64_t> ResolveAlias(const std::string& model, const std::string& alias);
  absl::StatusOr<std::shared_ptr<const std::string>> Blob(const std::string& sha256);

  // Drops every cached version and alias of `model`; call after changing it.
  void Forget(const std::string& model);

 private:
  RegistryStore& store_;
  TtlCache<std::pair<std::string, int64_t>, std::shared_ptr<const VersionSnapshot>> versions_;
  TtlCache<std::pair<std::string, std::string>, int64_t> aliases_;
  BlobCache blobs_;
};

}  // namespace kiln::registry
