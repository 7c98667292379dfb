// Jobs as users see them (schema `training`): submit, read, list, cancel,
// and the event history behind WatchJob. No gRPC here.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "kiln/v1/training.pb.h"
#include "services/common/db/pool.h"

namespace kiln::training {

class JobStore {
 public:
  explicit JobStore(db::Pool& pool) : pool_(pool) {}

  // Queues a job; the spec must be complete and valid.
  absl::StatusOr<kiln::v1::Job> Submit(const kiln::v1::JobSpec& spec);
  absl::StatusOr<kiln::v1::Job> Get(const std::string& id);
  absl::StatusOr<kiln::v1::ListJobsResponse> List(const kiln::v1::ListJobsRequest& request);
  // Cancels a queued or running job; FailedPrecondition once it has ended.
  absl::StatusOr<kiln::v1::Job> Cancel(const std::string& id, const std::string& reason);
  // Up to `limit` stored events with a sequence above `after_sequence`.
  absl::StatusOr<std::vector<kiln::v1::JobEvent>> EventsAfter(const std::string& id,
                                                              int64_t after_sequence, int limit);

 private:
  db::Pool& pool_;
};

}  // namespace kiln::training
