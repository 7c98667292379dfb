#include "services/registry/blob_cache.h"

namespace kiln::registry {

std::shared_ptr<const std::string> BlobCache::Find(const std::string& sha256) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto entry = entries_.find(sha256);
  if (entry == entries_.end()) return nullptr;
  order_.splice(order_.begin(), order_, entry->second);
  return entry->second->second;
}

void BlobCache::Insert(const std::string& sha256, std::shared_ptr<const std::string> bytes) {
  const auto size = static_cast<int64_t>(bytes->size());
  if (size > max_bytes_ / 8) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.count(sha256) != 0) return;
  while (!order_.empty() && size_bytes_ + size > max_bytes_) {
    size_bytes_ -= static_cast<int64_t>(order_.back().second->size());
    entries_.erase(order_.back().first);
    order_.pop_back();
  }
  order_.emplace_front(sha256, std::move(bytes));
  entries_[sha256] = order_.begin();
  size_bytes_ += size;
}

int64_t BlobCache::size_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return size_bytes_;
}

}  // namespace kiln::registry
