#include "services/training/lease_reaper.h"

#include "absl/time/clock.h"
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

bool LeaseReaper::Pass() {
  // Two missed passes: the reaper, and so the heartbeats, could not reach
  // the database (or the service was not running).
  if (absl::Now() - last_reached_ > 2 * interval_) {
    absl::StatusOr<int> extended = leases_.ExtendActiveLeases();
    if (!extended.ok()) {
      log::Warning("extending leases after an outage failed: ", extended.status().ToString());
      return false;
    }
    if (*extended > 0) {
      log::Info("the lease store is reachable again: ", *extended,
                " running lease(s) get a full TTL from now");
    }
  }
  absl::StatusOr<int> lapsed = leases_.ReapExpiredLeases();
  if (!lapsed.ok()) {
    log::Warning("expiring leases failed: ", lapsed.status().ToString());
    return false;
  }
  if (*lapsed > 0) log::Warning(*lapsed, " lease(s) expired; their jobs were re-queued or failed");
  last_reached_ = absl::Now();
  return true;
}

void LeaseReaper::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return stopping_; })) {
    lock.unlock();
    Pass();
    lock.lock();
  }
}

}  // namespace kiln::training
