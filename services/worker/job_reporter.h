// Reports a lease's events to the training service; progress is throttled
// so a fast epoch does not flood the job's event history.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "kiln/v1/training.grpc.pb.h"
#include "services/model/trainer.h"
#include "services/model/training_run.h"
#include "services/worker/lease_keeper.h"

namespace kiln::worker {

class JobReporter {
 public:
  JobReporter(kiln::v1::TrainingService::Stub& training, std::string token, std::string lease_id,
              int rank, LeaseKeeper& keeper)
      : training_(training),
        token_(std::move(token)),
        lease_id_(std::move(lease_id)),
        rank_(rank),
        keeper_(keeper) {}

  void Log(const std::string& level, const std::string& message);
  void Progress(const model::StepProgress& progress);
  void EpochFinished(const model::RunEpochReport& report);
  // Training stopped after `epoch`, before the spec's last one.
  void EarlyStopped(int epoch, int best_epoch);
  void Resumed(int epoch);

 private:
  void Send(kiln::v1::JobEvent event);

  kiln::v1::TrainingService::Stub& training_;
  const std::string token_;
  const std::string lease_id_;
  const int rank_;
  LeaseKeeper& keeper_;
  absl::Time last_progress_ = absl::InfinitePast();
};

}  // namespace kiln::worker
