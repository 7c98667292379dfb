// A size-bounded, thread-safe LRU of file contents by sha256. Blobs are
// immutable, so an entry never goes stale; it only makes room.
//
// Lookups share a reader lock and mark use with an atomic tick, so that the
// serving threads never wait for each other once the blobs are in; only
// inserts (misses) take the lock exclusively and scan for the least
// recently used.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/synchronization/mutex.h"

namespace kiln::registry {

class BlobCache {
 public:
  // Blobs larger than an eighth of `max_bytes` are not kept, so that one
  // big file cannot flush everything else.
  explicit BlobCache(int64_t max_bytes) : max_bytes_(max_bytes) {}

  // The blob, marked as most recently used; null when absent.
  std::shared_ptr<const std::string> Find(const std::string& sha256);

  // Keeps `bytes` under `sha256`, evicting the least recently used blobs
  // to stay within the bound.
  void Insert(const std::string& sha256, std::shared_ptr<const std::string> bytes);

  int64_t size_bytes();

 private:
  struct Entry {
    std::shared_ptr<const std::string> bytes;
    std::atomic<uint64_t> last_used{0};
  };

  const int64_t max_bytes_;
  std::atomic<uint64_t> clock_{0};
  absl::Mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mutex_);
  int64_t size_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace kiln::registry
