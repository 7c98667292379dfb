#include "services/registry/serving_cache.h"

#include <limits>

#include "nlohmann/json.hpp"

namespace kiln::registry {
namespace {

// A thread's copy is dropped when it grows beyond this many entries, which
// bounds what a long-lived thread can hold on to.
constexpr size_t kMaxThreadEntries = 256;

std::atomic<uint64_t> next_cache_id{1};

}  // namespace

struct ServingCache::ThreadCopy {
  uint64_t cache_id = 0;
  uint64_t generation = 0;
  Entries entries;
};

const kiln::v1::FileDigest* VersionSnapshot::File(const std::string& path) const {
  for (const kiln::v1::FileDigest& file : version.files()) {
    if (file.path() == path) return &file;
  }
  return nullptr;
}

ServingCache::ServingCache(RegistryStore& store, Options options)
    : store_(store),
      metadata_ttl_(absl::ToChronoNanoseconds(options.metadata_ttl)),
      id_(next_cache_id.fetch_add(1)),
      blobs_(options.max_blob_bytes) {}

ServingCache::Entries& ServingCache::Local() {
  thread_local ThreadCopy copy;
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (copy.cache_id != id_ || copy.generation != generation ||
      copy.entries.versions.size() + copy.entries.aliases.size() > kMaxThreadEntries) {
    copy.cache_id = id_;
    copy.generation = generation;
    copy.entries = Entries();
  }
  return copy.entries;
}

absl::StatusOr<std::shared_ptr<const VersionSnapshot>> ServingCache::Version(
    const std::string& model, int64_t version) {
  const VersionKey key(model, version);
  Entries& local = Local();
  const Clock::time_point now = Clock::now();
  if (auto entry = local.versions.find(key); entry != local.versions.end() && entry->second.expires > now) {
    return entry->second.value;
  }
  {
    absl::ReaderMutexLock lock(&mutex_);
    if (auto entry = shared_.versions.find(key);
        entry != shared_.versions.end() && entry->second.expires > now) {
      local.versions[key] = entry->second;
      return entry->second.value;
    }
  }
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  absl::StatusOr<kiln::v1::ModelVersion> stored = store_.GetVersion(model, version);
  if (!stored.ok()) return stored.status();
  auto snapshot = std::make_shared<VersionSnapshot>();
  snapshot->version = *std::move(stored);
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : snapshot->version.metrics()) metrics[name] = value;
  snapshot->metrics_json = metrics.dump();
  // Kept only if no Forget() ran during the load, which may have made it
  // stale; the next lookup copies it to this thread.
  absl::MutexLock lock(&mutex_);
  if (generation_.load(std::memory_order_acquire) == generation) {
    shared_.versions[key] = {snapshot, Clock::now() + metadata_ttl_};
  }
  return snapshot;
}

absl::StatusOr<int64_t> ServingCache::ResolveAlias(const std::string& model,
                                                   const std::string& alias) {
  const AliasKey key(model, alias);
  Entries& local = Local();
  const Clock::time_point now = Clock::now();
  if (auto entry = local.aliases.find(key); entry != local.aliases.end() && entry->second.expires > now) {
    return entry->second.value;
  }
  {
    absl::ReaderMutexLock lock(&mutex_);
    if (auto entry = shared_.aliases.find(key);
        entry != shared_.aliases.end() && entry->second.expires > now) {
      local.aliases[key] = entry->second;
      return entry->second.value;
    }
  }
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  absl::StatusOr<int64_t> version = store_.ResolveAlias(model, alias);
  if (!version.ok()) return version.status();
  absl::MutexLock lock(&mutex_);
  if (generation_.load(std::memory_order_acquire) == generation) {
    shared_.aliases[key] = {*version, Clock::now() + metadata_ttl_};
  }
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
  shared_.versions.erase(
      shared_.versions.lower_bound({model, std::numeric_limits<int64_t>::min()}),
      shared_.versions.upper_bound({model, std::numeric_limits<int64_t>::max()}));
  shared_.aliases.erase(shared_.aliases.lower_bound({model, std::string()}),
                        shared_.aliases.lower_bound({model + '\0', std::string()}));
  generation_.fetch_add(1, std::memory_order_release);
}

}  // namespace kiln::registry
