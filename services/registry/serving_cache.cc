#include "services/registry/serving_cache.h"

#include "nlohmann/json.hpp"

namespace kiln::registry {

const kiln::v1::FileDigest* VersionSnapshot::File(const std::string& path) const {
  for (const kiln::v1::FileDigest& file : version.files()) {
    if (file.path() == path) return &file;
  }
  return nullptr;
}

ServingCache::ServingCache(RegistryStore& store, Options options)
    : store_(store),
      versions_(absl::ToChronoNanoseconds(options.metadata_ttl)),
      aliases_(absl::ToChronoNanoseconds(options.metadata_ttl)),
      blobs_(options.max_blob_bytes) {}

absl::StatusOr<std::shared_ptr<const VersionSnapshot>> ServingCache::Version(
    const std::string& model, int64_t version) {
  return versions_.Get({model, version}, [&]() -> absl::StatusOr<std::shared_ptr<const VersionSnapshot>> {
    absl::StatusOr<kiln::v1::ModelVersion> stored = store_.GetVersion(model, version);
    if (!stored.ok()) return stored.status();
    auto snapshot = std::make_shared<VersionSnapshot>();
    snapshot->version = *std::move(stored);
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [name, value] : snapshot->version.metrics()) metrics[name] = value;
    snapshot->metrics_json = metrics.dump();
    return snapshot;
  });
}

absl::StatusOr<int64_t> ServingCache::ResolveAlias(const std::string& model,
                                                   const std::string& alias) {
  return aliases_.Get({model, alias}, [&] { return store_.ResolveAlias(model, alias); });
}

absl::StatusOr<std::shared_ptr<const std::string>> ServingCache::Blob(const std::string& sha256) {
  if (std::shared_ptr<const std::string> cached = blobs_.Find(sha256)) return cached;
  absl::StatusOr<std::string> bytes = store_.ReadBlob(sha256);
  if (!bytes.ok()) return bytes.status();
  auto shared = std::make_shared<const std::string>(*std::move(bytes));
  blobs_.Insert(sha256, shared);
  return shared;
}

void ServingCache::Forget(const std::string& model) {
  versions_.EraseIf([&](const auto& key) { return key.first == model; });
  aliases_.EraseIf([&](const auto& key) { return key.first == model; });
}

}  // namespace kiln::registry
