// The worker protocol's state (schema `training`): registered workers,
// waiting slots, gang leases with expiry, rendezvous, progress events,
// checkpoints, and what happens when a lease ends or lapses. No gRPC here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kiln/v1/training.pb.h"
#include "services/common/db/pool.h"

namespace kiln::training {

struct LeaseSettings {
  // A lease not renewed for this long is lost and its job re-queued.
  absl::Duration lease_ttl = absl::Seconds(20);
  // What workers are told to use.
  absl::Duration heartbeat_interval = absl::Seconds(1);
  // Checkpoints kept per job (older ones are deleted).
  int keep_checkpoints = 2;
  // Handed to workers in every lease.
  std::string preprocess_address;
  std::string evaluation_address;
  std::string registry_address;
};

class LeaseStore {
 public:
  LeaseStore(db::Pool& pool, LeaseSettings settings)
      : pool_(pool), settings_(std::move(settings)) {}

  absl::StatusOr<kiln::v1::RegisterWorkerResponse> RegisterWorker(
      const kiln::v1::RegisterWorkerRequest& request);

  // LeaseJob, step by step: a slot waits, Schedule() assigns queued jobs to
  // waiting slots (a gang of world_size at once), and the slot's caller
  // picks up its lease. With `give_up`, an unassigned slot is withdrawn.
  absl::StatusOr<int64_t> RequestSlot(const std::string& worker_id, absl::Duration wait);
  absl::Status Schedule();
  absl::StatusOr<std::optional<kiln::v1::Lease>> TakeLease(int64_t slot_id, bool give_up);

  absl::StatusOr<kiln::v1::HeartbeatResponse> Heartbeat(const std::string& lease_id, int epoch);
  // Rank 0 publishes `address`; every rank gets rank 0's (empty until set).
  absl::StatusOr<std::string> Rendezvous(const std::string& lease_id, const std::string& address);
  absl::StatusOr<kiln::v1::LeaseStatus> AppendEvents(
      const std::string& lease_id, const google::protobuf::RepeatedPtrField<kiln::v1::JobEvent>& events);

  absl::StatusOr<kiln::v1::Checkpoint> SaveCheckpoint(const std::string& lease_id, int epoch,
                                                      const std::string& sha256,
                                                      const std::string& data);
  // The checkpoint and its bytes; epoch 0 = the newest.
  absl::StatusOr<std::pair<kiln::v1::Checkpoint, std::string>> LoadCheckpoint(
      const std::string& job_id, int epoch);

  absl::StatusOr<kiln::v1::Job> CompleteLease(const std::string& lease_id,
                                              const kiln::v1::JobResult& result);
  absl::StatusOr<kiln::v1::Job> FailLease(const std::string& lease_id, const std::string& error,
                                          bool retryable, bool released);

  // Leases past their expiry are lost; their jobs go back to the queue (or
  // fail when out of attempts). Returns how many leases lapsed.
  absl::StatusOr<int> ReapExpiredLeases();

  // Gives every active lease a full TTL from now: after the service or its
  // database was unreachable, workers could not heartbeat, and their silence
  // is not theirs. Returns how many leases were extended.
  absl::StatusOr<int> ExtendActiveLeases();

  const LeaseSettings& settings() const { return settings_; }

 private:
  db::Pool& pool_;
  const LeaseSettings settings_;
};

}  // namespace kiln::training
