// What HTTP requests and downloads read, kept in memory: version snapshots
// and alias resolutions for a short time-to-live, blob contents in an LRU.
// Versions are immutable, so only deletes and alias moves can make an entry
// stale: this process forgets a model's entries when it changes the model
// (Forget), other replicas' changes show here within the time-to-live.
//
// Lookups first try a per-thread copy, so the hot path takes no lock: with
// dozens of serving threads on a few cores, a thread preempted while holding
// a shared lock stalled every other request for hundreds of milliseconds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kiln/v1/registry.pb.h"
#include "services/registry/blob_cache.h"
#include "services/registry/registry_store.h"

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

  // Drops every cached version and alias of `model` (and every thread's
  // copies of any model); call after changing it.
  void Forget(const std::string& model);

 private:
  // steady_clock: cheap and lock-free on every request, and immune to
  // wall-clock jumps.
  using Clock = std::chrono::steady_clock;
  template <typename Value>
  struct Timed {
    Value value;
    Clock::time_point expires;
  };
  using VersionKey = std::pair<std::string, int64_t>;
  using AliasKey = std::pair<std::string, std::string>;
  struct Entries {
    std::map<VersionKey, Timed<std::shared_ptr<const VersionSnapshot>>> versions;
    std::map<AliasKey, Timed<int64_t>> aliases;
  };
  struct ThreadCopy;

  // This thread's copy of the entries, emptied when Forget() ran since it
  // was filled or when it belongs to another cache.
  Entries& Local();

  RegistryStore& store_;
  const Clock::duration metadata_ttl_;
  // Tells this cache's thread copies from those of a cache destroyed before.
  const uint64_t id_;
  // Bumped by Forget(): thread copies of an older generation are stale.
  std::atomic<uint64_t> generation_{0};
  BlobCache blobs_;
  absl::Mutex mutex_;
  Entries shared_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace kiln::registry
