// The memory all publishes in progress may hold together. A publish holds
// its whole bundle until it is stored, so without a shared cap a handful of
// concurrent ones (each up to kMaxPublishBytes) could exhaust the registry's
// memory; a publish that does not fit is refused at its header, before any
// of its bytes arrive.
#pragma once

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace kiln::registry {

class PublishBudget {
 public:
  // Bytes held by one publish; given back when it is destroyed.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    ~Reservation();

   private:
    friend class PublishBudget;
    Reservation(PublishBudget* budget, int64_t bytes) : budget_(budget), bytes_(bytes) {}
    void Release();

    PublishBudget* budget_ = nullptr;
    int64_t bytes_ = 0;
  };

  explicit PublishBudget(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // RESOURCE_EXHAUSTED, naming what is held, when `bytes` do not fit now.
  absl::StatusOr<Reservation> Reserve(int64_t bytes);

  int64_t held() const;

 private:
  const int64_t capacity_;
  mutable absl::Mutex mutex_;
  int64_t held_ ABSL_GUARDED_BY(mutex_) = 0;
  int publishes_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace kiln::registry
