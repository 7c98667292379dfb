#include "services/registry/blob_cache.h"

namespace kiln::registry {

std::shared_ptr<const std::string> BlobCache::Find(const std::string& sha256) {
  absl::ReaderMutexLock lock(&mutex_);
  const auto entry = entries_.find(sha256);
  if (entry == entries_.end()) return nullptr;
  entry->second->last_used.store(clock_.fetch_add(1, std::memory_order_relaxed) + 1,
                                 std::memory_order_relaxed);
  return entry->second->bytes;
}

void BlobCache::Insert(const std::string& sha256, std::shared_ptr<const std::string> bytes) {
  const auto size = static_cast<int64_t>(bytes->size());
  if (size > max_bytes_ / 8) return;
  absl::MutexLock lock(&mutex_);
  if (entries_.count(sha256) != 0) return;
  while (!entries_.empty() && size_bytes_ + size > max_bytes_) {
    auto oldest = entries_.begin();
    for (auto entry = entries_.begin(); entry != entries_.end(); ++entry) {
      if (entry->second->last_used.load(std::memory_order_relaxed) <
          oldest->second->last_used.load(std::memory_order_relaxed)) {
        oldest = entry;
      }
    }
    size_bytes_ -= static_cast<int64_t>(oldest->second->bytes->size());
    entries_.erase(oldest);
  }
  auto entry = std::make_unique<Entry>();
  entry->bytes = std::move(bytes);
  entry->last_used.store(clock_.fetch_add(1, std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
  entries_[sha256] = std::move(entry);
  size_bytes_ += size;
}

int64_t BlobCache::size_bytes() {
  absl::ReaderMutexLock lock(&mutex_);
  return size_bytes_;
}

}  // namespace kiln::registry
