// What a TrainingRun stores after an epoch: the trainer's own checkpoint
// (its format untouched), the early-stopping state, and the trainer's
// checkpoint of the best epoch when that is an earlier one, so that a
// resumed run takes the same decisions and ships the same weights as one
// that was never interrupted; and the reports of the last and the best
// epoch, which a resumed run can report again.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "services/model/early_stopping.h"
#include "services/model/epoch_report.h"

namespace kiln::model {

struct RunCheckpoint {
  EarlyStoppingState stopping;
  RunEpochReport last_report;
  RunEpochReport best_report;
  std::string trainer;  // Trainer::SaveCheckpoint after stopping.last_epoch
  // Trainer::SaveCheckpoint after stopping.best_epoch; empty when that is
  // the last epoch (the same bytes as `trainer`).
  std::string best_trainer;
};

// "KILNRUN1", the state's fields, both reports and the lengths of both
// checkpoints, little-endian, an FNV-1a 64 checksum of all that, then the
// checkpoints (which carry their own).
std::string EncodeRunCheckpoint(const RunCheckpoint& checkpoint);

// DataLoss for truncated, corrupted or foreign bytes.
absl::StatusOr<RunCheckpoint> DecodeRunCheckpoint(const std::string& bytes);

}  // namespace kiln::model
