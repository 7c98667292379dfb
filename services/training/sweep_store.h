// Sweeps as stored (schema `training`): a sweep's plan and its jobs, queued
// together in one transaction. No gRPC here.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/v1/sweep.pb.h"
#include "services/common/db/pool.h"
#include "services/training/sweep_grid.h"

namespace kiln::training {

// "sweep-000007" <-> 7.
std::string FormatSweepId(int64_t id);
absl::StatusOr<int64_t> ParseSweepId(const std::string& id);

class SweepStore {
 public:
  explicit SweepStore(db::Pool& pool) : pool_(pool) {}

  // Stores the plan and queues one job per combination, whose specs must
  // be complete and valid: all of it or, on any error, nothing.
  absl::StatusOr<kiln::v1::Sweep> Create(const kiln::v1::SweepPlan& plan,
                                         const std::vector<SweepCombination>& combinations);
  // The sweep and its jobs in trial order.
  absl::StatusOr<kiln::v1::GetSweepResponse> Get(const std::string& id);
  // Newest first; page_size 1..500 (0 = 50).
  absl::StatusOr<kiln::v1::ListSweepsResponse> List(int page_size, const std::string& page_token);

 private:
  db::Pool& pool_;
};

}  // namespace kiln::training
