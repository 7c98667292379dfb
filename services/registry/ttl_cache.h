// A map whose entries live for a time-to-live, read without locks on the hot
// path: each thread keeps its own copy of the entries it used, and an
// expired entry is reloaded by one thread while the others keep serving the
// old value. Both matter when dozens of serving threads share a few cores:
// a thread preempted while holding a shared lock, or all threads reloading
// at the same instant from a database on the same cores, stalled every
// request for hundreds of milliseconds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace kiln::registry {

template <typename Key, typename Value>
class TtlCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Loader = std::function<absl::StatusOr<Value>()>;

  explicit TtlCache(Clock::duration ttl) : ttl_(ttl), id_(NextId()) {}

  // The value of `key`, loaded with `load` when absent. An error from
  // `load` is returned and nothing is cached; NotFound while refreshing an
  // entry removes it; other refresh errors keep serving the old value.
  absl::StatusOr<Value> Get(const Key& key, const Loader& load);

  // Drops the entries `match` selects, in every thread's copy too.
  void EraseIf(const std::function<bool(const Key&)>& match);

 private:
  struct Entry {
    Value value;
    Clock::time_point expires;
    std::atomic<bool> refreshing{false};
  };
  struct Local {
    uint64_t cache_id = 0;
    uint64_t generation = 0;
    std::map<Key, std::pair<Value, Clock::time_point>> entries;
  };
  // A thread's copy is dropped beyond this many entries, which bounds what
  // a long-lived thread holds on to.
  static constexpr size_t kMaxLocalEntries = 256;

  static uint64_t NextId() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1);
  }
  // This thread's copy, emptied when it belongs to another cache or
  // EraseIf() ran since it was filled.
  Local& ThreadCopy();
  // Stores a freshly loaded value unless EraseIf() ran during the load.
  void Store(const Key& key, const Value& value, uint64_t generation);

  const Clock::duration ttl_;
  const uint64_t id_;
  std::atomic<uint64_t> generation_{0};
  absl::Mutex mutex_;
  std::map<Key, std::shared_ptr<Entry>> entries_ ABSL_GUARDED_BY(mutex_);
};

template <typename Key, typename Value>
typename TtlCache<Key, Value>::Local& TtlCache<Key, Value>::ThreadCopy() {
  thread_local Local local;
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (local.cache_id != id_ || local.generation != generation ||
      local.entries.size() > kMaxLocalEntries) {
    local.cache_id = id_;
    local.generation = generation;
    local.entries.clear();
  }
  return local;
}

template <typename Key, typename Value>
absl::StatusOr<Value> TtlCache<Key, Value>::Get(const Key& key, const Loader& load) {
  Local& local = ThreadCopy();
  const Clock::time_point now = Clock::now();
  if (auto found = local.entries.find(key); found != local.entries.end() && found->second.second > now) {
    return found->second.first;
  }
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  std::shared_ptr<Entry> entry;
  {
    absl::ReaderMutexLock lock(&mutex_);
    if (auto found = entries_.find(key); found != entries_.end()) entry = found->second;
  }
  if (entry != nullptr && entry->expires > now) {
    local.entries[key] = {entry->value, entry->expires};
    return entry->value;
  }
  // Expired and another thread is reloading it: the old value will do.
  if (entry != nullptr && entry->refreshing.exchange(true)) return entry->value;

  absl::StatusOr<Value> loaded = load();
  if (!loaded.ok()) {
    if (entry == nullptr) return loaded.status();
    if (absl::IsNotFound(loaded.status())) {
      EraseIf([&key](const Key& other) { return other == key; });
      return loaded.status();
    }
    entry->refreshing.store(false);
    return entry->value;
  }
  Store(key, *loaded, generation);
  return loaded;
}

template <typename Key, typename Value>
void TtlCache<Key, Value>::Store(const Key& key, const Value& value, uint64_t generation) {
  auto entry = std::make_shared<Entry>();
  entry->value = value;
  entry->expires = Clock::now() + ttl_;
  absl::MutexLock lock(&mutex_);
  if (generation_.load(std::memory_order_acquire) == generation) entries_[key] = std::move(entry);
}

template <typename Key, typename Value>
void TtlCache<Key, Value>::EraseIf(const std::function<bool(const Key&)>& match) {
  absl::MutexLock lock(&mutex_);
  for (auto entry = entries_.begin(); entry != entries_.end();) {
    entry = match(entry->first) ? entries_.erase(entry) : std::next(entry);
  }
  generation_.fetch_add(1, std::memory_order_release);
}

}  // namespace kiln::registry
