// A job's training from its first epoch to the weights it ships: the
// trainer's epochs, after each the validation figures and the early-stopping
// decision, and at the end the best epoch's weights.
//
// Every rank of a job runs one over the whole validation set. The weights
// are identical on every rank after each step, so the ranks reach the same
// figures and the same decision to stop without talking to each other.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/model/early_stopping.h"
#include "services/model/epoch_report.h"
#include "services/model/model_weights.h"
#include "services/model/trainer.h"
#include "services/model/validation.h"

namespace kiln::model {

struct RunOptions {
  // Epochs without a lower validation loss before training stops; 0 runs
  // every epoch.
  int patience = 0;
  // Keep a copy of the best epoch's state, to ship it and to checkpoint the
  // run: only the rank that ships needs it.
  bool keep_best = true;
};

class TrainingRun {
 public:
  // No `validation` examples: every epoch is the best, the last one ships.
  TrainingRun(std::unique_ptr<Trainer> trainer, Examples validation, RunOptions options);

  // Trains and validates the next epoch. Errors as Trainer::RunEpoch, and
  // FailedPrecondition once done() or after a failed epoch (until
  // RestoreCheckpoint).
  absl::StatusOr<RunEpochReport> RunEpoch(const ProgressCallback& progress = nullptr,
                                          const CancelCheck& cancelled = nullptr);

  // Every epoch trained, stopped early, or the best weights taken.
  bool done() const { return trainer_->done() || stopping_.ShouldStop() || finished_; }
  // Stopped by the patience before the last epoch of the spec.
  bool stopped_early() const { return stopping_.ShouldStop() && !trainer_->done(); }
  int epochs_done() const { return stopping_.state().last_epoch; }
  int best_epoch() const { return stopping_.state().best_epoch; }
  bool validates() const { return validation_.size() > 0; }
  // The reports of the last and the best epoch, also after RestoreCheckpoint.
  const RunEpochReport& last_report() const { return last_report_; }
  const RunEpochReport& best_report() const { return best_report_; }

  // Everything a resumed run needs (run_checkpoint.h); needs keep_best.
  absl::StatusOr<std::string> SaveCheckpoint() const;
  // Continues from SaveCheckpoint's bytes of a run of the same job; every
  // rank restores the same bytes.
  absl::Status RestoreCheckpoint(const std::string& bytes);

  // The best epoch's weights; the run ends with the trainer at that epoch.
  // FailedPrecondition before the first epoch or without keep_best.
  absl::StatusOr<ModelWeights> TakeBestWeights();

 private:
  std::unique_ptr<Trainer> trainer_;
  Examples validation_;
  RunOptions options_;
  EarlyStopping stopping_;
  // Trainer::SaveCheckpoint after the best epoch (with keep_best).
  std::string best_checkpoint_;
  RunEpochReport last_report_;
  RunEpochReport best_report_;
  // Set when an epoch trained but was not recorded: the run is no epoch's.
  absl::Status interrupted_;
  bool finished_ = false;
};

}  // namespace kiln::model
