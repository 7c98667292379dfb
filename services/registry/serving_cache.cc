#include "services/registry/serving_cache.h"

#include <limits>

#include "nlohmann/json.hpp"

namespace kiln::registry {

const kiln::v1::FileDigest* VersionSnapshot::File(const std::string& path) const {
  for (const kiln::v1::FileDigest& file : version.files()) {
    if (file.path() == path) return &file;
  }
  return nullptr;
}

ServingCache::ServingCache(RegistryStore& store, Options options)
    : store_(store), metadata_ttl_(absl::ToChronoNanoseconds(options.metadata_ttl)), blobs_(options.max_blob_bytes) {}

absl::StatusOr<std::shared_ptr<const VersionSnapshot>> ServingCache::Version(
    const std::string& model, int64_t version) {
  const auto key = std::make_pair(model, version);
  thread_local std::map<std::pair<std::string, int64_t>, std::shared_ptr<const VersionSnapshot>> local;
  if (auto it = local.find(key); it != local.end()) return it->second;
  {
    absl::ReaderMutexLock lock(&mutex_);
    const auto entry = versions_.find(key);
    if (entry != versions_.end() && entry->second.expires > Clock::now()) return local[key] = entry->second.value;
  }
  absl::StatusOr<kiln::v1::ModelVersion> stored = store_.GetVersion(model, version);
  if (!stored.ok()) return stored.status();
  auto snapshot = std::make_shared<VersionSnapshot>();
  snapshot->version = *std::move(stored);
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : snapshot->version.metrics()) metrics[name] = value;
  snapshot->metrics_json = metrics.dump();
  absl::MutexLock lock(&mutex_);
  versions_[key] = {snapshot, Clock::now() + metadata_ttl_};
  return snapshot;
}

absl::StatusOr<int64_t> ServingCache::ResolveAlias(const std::string& model,
                                                   const std::string& alias) {
  const auto key = std::make_pair(model, alias);
  thread_local std::map<std::pair<std::string, std::string>, int64_t> local;
  if (auto it = local.find(key); it != local.end()) return it->second;
  struct Put { decltype(local)& l; decltype(key)& k; int64_t v = 0; ~Put() { if (v) l[k] = v; } } put{local, key};
  {
    absl::ReaderMutexLock lock(&mutex_);
    const auto entry = aliases_.find(key);
    if (entry != aliases_.end() && entry->second.expires > Clock::now()) return put.v = entry->second.value;
  }
  absl::StatusOr<int64_t> version = store_.ResolveAlias(model, alias);
  if (!version.ok()) return version.status();
  absl::MutexLock lock(&mutex_);
  aliases_[key] = {*version, Clock::now() + metadata_ttl_};
  return *version;
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
  absl::MutexLock lock(&mutex_);
  versions_.erase(versions_.lower_bound({model, std::numeric_limits<int64_t>::min()}),
                  versions_.upper_bound({model, std::numeric_limits<int64_t>::max()}));
  aliases_.erase(aliases_.lower_bound({model, std::string()}),
                 aliases_.lower_bound({model + '\0', std::string()}));
}

}  // namespace kiln::registry
