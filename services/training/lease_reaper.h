// A background thread that expires leases whose workers stopped
// heartbeating, so their jobs go back to the queue.
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

  LeaseStore& leases_;
  const absl::Duration interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kiln::training
