// Keeps a lease alive while its job runs: heartbeats on a thread of its own
// (training steps may block in a collective for a while) and remembers
// whether the training service said to stop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "kiln/v1/training.grpc.pb.h"

namespace kiln::worker {

class LeaseKeeper {
 public:
  // Beats every `interval`; each beat may take up to half of `lease_ttl`,
  // so a slow service still gets a second try before the lease lapses.
  LeaseKeeper(kiln::v1::TrainingService::Stub& training, std::string token, std::string lease_id,
              absl::Duration interval, absl::Duration lease_ttl);
  ~LeaseKeeper();  // stops heartbeating

  // The job was cancelled, or the lease was lost (expired, gang broken).
  bool should_stop() const { return cancelled_ || lost_; }
  bool cancelled() const { return cancelled_; }
  bool lost() const { return lost_; }
  // Sets the flags from a status the service returned elsewhere.
  void Observe(kiln::v1::LeaseStatus status);

 private:
  void Run();

  kiln::v1::TrainingService::Stub& training_;
  const std::string token_;
  const std::string lease_id_;
  const absl::Duration interval_;
  const absl::Duration deadline_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kiln::worker
