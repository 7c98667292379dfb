// A background thread that expires leases whose workers stopped
// heartbeating, so their jobs go back to the queue.
//
// Only silence the workers are to blame for counts: when the reaper itself
// could not reach the database for a while, or has just started (the
// training service was down, so no heartbeat could arrive), it first gives
// every running lease a full TTL from that moment. An outage of the
// control plane longer than the TTL then costs no attempt.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "services/training/lease_store.h"

namespace kiln::training {

class LeaseReaper {
 public:
  LeaseReaper(LeaseStore& leases, absl::Duration interval);
  ~LeaseReaper();  // stops the thread

 private:
  void Run();

  // One pass: extend after an outage, then expire. False when the database
  // could not be reached.
  bool Pass();

  LeaseStore& leases_;
  const absl::Duration interval_;
  // The end of the last pass that reached the database; the past's start
  // until the first one, so that a (re)started service extends first.
  absl::Time last_reached_ = absl::InfinitePast();
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kiln::training
