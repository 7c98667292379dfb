#include "services/training/lease_reaper.h"

#include "services/common/log.h"

namespace kiln::training {

LeaseReaper::LeaseReaper(LeaseStore& leases, absl::Duration interval)
    : leases_(leases), interval_(interval), thread_([this] { Run(); }) {}

LeaseReaper::~LeaseReaper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void LeaseReaper::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return stopping_; })) {
    lock.unlock();
    absl::StatusOr<int> lapsed = leases_.ReapExpiredLeases();
    if (!lapsed.ok()) {
      log::Warning("expiring leases failed: ", lapsed.status().ToString());
    } else if (*lapsed > 0) {
      log::Warning(*lapsed, " lease(s) expired; their jobs were re-queued or failed");
    }
    lock.lock();
  }
}

}  // namespace kiln::training
