#include "services/common/stall_guard.h"

namespace kiln {

StallGuard::StallGuard(grpc::ClientContext& context, absl::Duration patience)
    : context_(context), patience_(patience), last_progress_(absl::Now()),
      watcher_([this] { Watch(); }) {}

StallGuard::~StallGuard() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  watcher_.join();
}

void StallGuard::Touch() {
  std::lock_guard<std::mutex> lock(mutex_);
  last_progress_ = absl::Now();
}

bool StallGuard::stalled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stalled_;
}

void StallGuard::Watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    const absl::Time due = last_progress_ + patience_;
    if (absl::Now() >= due) {
      stalled_ = true;
      context_.TryCancel();
      return;
    }
    changed_.wait_until(lock, absl::ToChronoTime(due));
  }
}

}  // namespace kiln
