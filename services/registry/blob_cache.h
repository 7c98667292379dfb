// A size-bounded, thread-safe LRU of file contents by sha256. Blobs are
// immutable, so an entry never goes stale; it only makes room.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

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

  int64_t size_bytes() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const std::string>>;

  const int64_t max_bytes_;
  mutable std::mutex mutex_;
  // Most recently used first.
  std::list<Entry> order_;
  std::unordered_map<std::string, std::list<Entry>::iterator> entries_;
  int64_t size_bytes_ = 0;
};

}  // namespace kiln::registry
