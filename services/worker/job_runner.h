// Runs one lease of a training job from start to end: training data from
// the preprocess service, training (alone or with the other ranks of the
// gang), a checkpoint per epoch, and on rank 0 the shipping of the model:
// bundle -> evaluation -> registry. Everything it learns is reported to the
// training service; it returns once the lease has ended.
#pragma once

#include <atomic>
#include <string>

#include "absl/time/time.h"
#include "kiln/v1/training.grpc.pb.h"

namespace kiln::worker {

struct WorkerSettings {
  std::string token;
  // Host at which the other ranks reach this worker (its TCPStore and its
  // Gloo transport).
  std::string host = "127.0.0.1";
  int threads = 0;  // intra-op threads; 0 = libtorch's default
  absl::Duration heartbeat_interval = absl::Seconds(1);
  absl::Duration lease_ttl = absl::Seconds(20);
  absl::Duration collective_timeout = absl::Seconds(30);
  // Rank 0 stores a checkpoint after an epoch when the last one is at least
  // this old (the first after epoch 1): a dead worker costs at most about
  // this much training, and the database is not rewritten every epoch.
  absl::Duration checkpoint_interval = absl::Seconds(5);
  // The services a job needs, when this worker must reach them at other
  // addresses than the training service hands out (a worker on another
  // host than the compose network); empty = the lease's.
  std::string preprocess_address;
  std::string evaluation_address;
  std::string registry_address;
  // The memory one rank may use; a job whose footprint (with its real
  // vocabulary) is larger fails with the figures instead of being
  // OOM-killed and retried.
  int64_t memory_budget_bytes = int64_t{8} << 30;
  // Set on SIGTERM: running jobs stop and go back to the queue.
  const std::atomic<bool>* shutting_down = nullptr;
};

void RunLease(kiln::v1::TrainingService::Stub& training, const WorkerSettings& settings,
              const kiln::v1::Lease& lease);

}  // namespace kiln::worker
