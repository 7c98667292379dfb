#include "services/model/training_run.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/model/run_checkpoint.h"

namespace kiln::model {

TrainingRun::TrainingRun(std::unique_ptr<Trainer> trainer, Examples validation,
                         RunOptions options)
    : trainer_(std::move(trainer)),
      validation_(std::move(validation)),
      options_(options),
      stopping_(options.patience) {}

absl::StatusOr<RunEpochReport> TrainingRun::RunEpoch(const ProgressCallback& progress,
                                                     const CancelCheck& cancelled) {
  if (done()) return absl::FailedPreconditionError("training run: it is done");
  if (!interrupted_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("training run: an earlier epoch failed: ", interrupted_.message()));
  }
  absl::StatusOr<EpochMetrics> training = trainer_->RunEpoch(progress, cancelled);
  if (!training.ok()) return training.status();
  RunEpochReport report;
  report.training = *training;
  if (validates()) {
    absl::StatusOr<ValidationFigures> figures = Validate(trainer_->ExportWeights(), validation_);
    if (!figures.ok()) {
      interrupted_ = figures.status();
      return figures.status();
    }
    report.validation = *figures;
  }
  report.best = stopping_.Record(report.validation ? std::optional<double>(report.validation->loss)
                                                   : std::nullopt);
  last_report_ = report;
  if (report.best) best_report_ = report;
  if (report.best && options_.keep_best) {
    absl::StatusOr<std::string> best = trainer_->SaveCheckpoint();
    if (!best.ok()) {
      interrupted_ = best.status();
      return best.status();
    }
    best_checkpoint_ = *std::move(best);
  }
  return report;
}

absl::StatusOr<std::string> TrainingRun::SaveCheckpoint() const {
  if (!options_.keep_best) {
    return absl::FailedPreconditionError(
        "training run: only a run that keeps the best epoch saves");
  }
  if (epochs_done() == 0) {
    return absl::FailedPreconditionError("training run: nothing to save before the first epoch");
  }
  RunCheckpoint checkpoint;
  checkpoint.stopping = stopping_.state();
  checkpoint.last_report = last_report_;
  checkpoint.best_report = best_report_;
  if (best_epoch() == epochs_done()) {
    checkpoint.trainer = best_checkpoint_;  // already the trainer's state now
  } else {
    absl::StatusOr<std::string> trainer = trainer_->SaveCheckpoint();
    if (!trainer.ok()) return trainer.status();
    checkpoint.trainer = *std::move(trainer);
    checkpoint.best_trainer = best_checkpoint_;
  }
  return EncodeRunCheckpoint(checkpoint);
}

absl::Status TrainingRun::RestoreCheckpoint(const std::string& bytes) {
  absl::StatusOr<RunCheckpoint> checkpoint = DecodeRunCheckpoint(bytes);
  if (!checkpoint.ok()) return checkpoint.status();
  const EarlyStoppingState& state = checkpoint->stopping;
  if (state.best_epoch != state.last_epoch && checkpoint->best_trainer.empty()) {
    return absl::DataLossError(absl::StrCat("run checkpoint: it lacks the state of epoch ",
                                            state.best_epoch, ", the best"));
  }
  if (absl::Status status = trainer_->RestoreCheckpoint(checkpoint->trainer); !status.ok()) {
    return status;
  }
  if (trainer_->epochs_done() != state.last_epoch) {
    return absl::DataLossError(absl::StrCat("run checkpoint: its trainer is at epoch ",
                                            trainer_->epochs_done(), ", its run at epoch ",
                                            state.last_epoch));
  }
  if (absl::Status status = stopping_.Restore(state); !status.ok()) return status;
  if (checkpoint->last_report.training.epoch != state.last_epoch ||
      checkpoint->best_report.training.epoch != state.best_epoch) {
    return absl::DataLossError("run checkpoint: its epoch reports are not its epochs'");
  }
  last_report_ = checkpoint->last_report;
  best_report_ = checkpoint->best_report;
  best_checkpoint_.clear();
  if (options_.keep_best) {
    best_checkpoint_ = state.best_epoch == state.last_epoch ? std::move(checkpoint->trainer)
                                                            : std::move(checkpoint->best_trainer);
  }
  interrupted_ = absl::OkStatus();
  finished_ = false;
  return absl::OkStatus();
}

absl::StatusOr<ModelWeights> TrainingRun::TakeBestWeights() {
  if (epochs_done() == 0 || !options_.keep_best || !interrupted_.ok()) {
    return absl::FailedPreconditionError(
        "training run: no best epoch to take (before the first epoch, after a failed one, or "
        "on a rank that does not keep it)");
  }
  if (best_epoch() != epochs_done()) {
    if (absl::Status status = trainer_->RestoreCheckpoint(best_checkpoint_); !status.ok()) {
      return status;
    }
  }
  finished_ = true;
  return trainer_->ExportWeights();
}

}  // namespace kiln::model
