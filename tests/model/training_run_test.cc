// Training runs with validation and early stopping, on a schedule built to
// overfit: a tiny training set, a large learning rate and many epochs, so
// that the validation loss falls for a few epochs and then climbs while the
// training loss goes on falling.
#include "services/model/training_run.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/model/run_checkpoint.h"
#include "synthetic_data.h"

namespace kiln::model {
namespace {

constexpr int kEpochs = 40;

ModelShape Shape() { return testing::SyntheticShape(); }
Examples TrainingSet() { return testing::SyntheticExamples(Shape(), 24, 1); }
Examples ValidationSet() { return testing::SyntheticExamples(Shape(), 300, 2); }

TrainingOptions OverfittingOptions() {
  TrainingOptions options;
  options.epochs = kEpochs;
  options.batch_size = 8;
  options.learning_rate = 0.05f;
  options.seed = 7;
  return options;
}

std::unique_ptr<TrainingRun> NewRun(int patience, bool keep_best = true,
                                    Examples validation = ValidationSet()) {
  RunOptions options;
  options.patience = patience;
  options.keep_best = keep_best;
  return std::make_unique<TrainingRun>(
      Trainer::Create(Shape(), OverfittingOptions(), TrainingSet()).value(), std::move(validation),
      options);
}

// The weights after each epoch of the same schedule without a run around
// it: [0] unused, [e] after epoch e.
std::vector<ModelWeights> WeightsPerEpoch() {
  auto trainer = Trainer::Create(Shape(), OverfittingOptions(), TrainingSet()).value();
  std::vector<ModelWeights> weights(1);
  while (!trainer->done()) {
    EXPECT_TRUE(trainer->RunEpoch().ok());
    weights.push_back(trainer->ExportWeights());
  }
  return weights;
}

bool Identical(const ModelWeights& a, const ModelWeights& b) {
  return a.embedding == b.embedding && a.hidden_kernel == b.hidden_kernel &&
         a.hidden_bias == b.hidden_bias && a.output_kernel == b.output_kernel &&
         a.output_bias == b.output_bias;
}

struct Outcome {
  std::vector<RunEpochReport> reports;  // of the epochs this run trained
  int epochs_done = 0;
  int best_epoch = 0;
  bool stopped_early = false;
  ModelWeights shipped;
};

Outcome Finish(TrainingRun& run) {
  Outcome outcome;
  while (!run.done()) {
    absl::StatusOr<RunEpochReport> report = run.RunEpoch();
    EXPECT_TRUE(report.ok()) << report.status();
    if (!report.ok()) return outcome;
    outcome.reports.push_back(*report);
  }
  outcome.epochs_done = run.epochs_done();
  outcome.best_epoch = run.best_epoch();
  outcome.stopped_early = run.stopped_early();
  outcome.shipped = run.TakeBestWeights().value();
  return outcome;
}

TEST(TrainingRunTest, ShipsTheBestValidationEpochNotTheLast) {
  auto run = NewRun(/*patience=*/0);
  const Outcome outcome = Finish(*run);
  ASSERT_EQ(outcome.reports.size(), static_cast<size_t>(kEpochs));
  EXPECT_FALSE(outcome.stopped_early);

  int lowest = 1;
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    const RunEpochReport& report = outcome.reports[epoch - 1];
    ASSERT_TRUE(report.validation);
    EXPECT_EQ(report.validation->examples, 300);
    EXPECT_EQ(report.training.epoch, epoch);
    if (report.validation->loss < outcome.reports[lowest - 1].validation->loss) lowest = epoch;
  }
  EXPECT_EQ(outcome.best_epoch, lowest);
  // The schedule does overfit: the best epoch is early, the last one worse.
  const double best_loss = outcome.reports[lowest - 1].validation->loss;
  const RunEpochReport& last = outcome.reports.back();
  ASSERT_LE(lowest, kEpochs - 10);
  EXPECT_GT(last.validation->loss, best_loss * 1.2);
  EXPECT_LT(last.training.mean_loss, outcome.reports[lowest - 1].training.mean_loss);
  // Only improvements are marked best.
  for (int epoch = lowest + 1; epoch <= kEpochs; ++epoch) {
    EXPECT_FALSE(outcome.reports[epoch - 1].best) << epoch;
  }
  EXPECT_TRUE(outcome.reports[lowest - 1].best);

  const std::vector<ModelWeights> weights = WeightsPerEpoch();
  EXPECT_TRUE(Identical(outcome.shipped, weights[lowest]));
  EXPECT_FALSE(Identical(outcome.shipped, weights[kEpochs]));
  // What ships scores what the best epoch reported.
  const ValidationFigures again = Validate(outcome.shipped, ValidationSet()).value();
  EXPECT_EQ(again.loss, best_loss);
  EXPECT_EQ(again.recall_at_1, outcome.reports[lowest - 1].validation->recall_at_1);
}

TEST(TrainingRunTest, StopsPatienceEpochsAfterTheBest) {
  auto run = NewRun(/*patience=*/3);
  const Outcome outcome = Finish(*run);
  EXPECT_TRUE(outcome.stopped_early);
  EXPECT_LT(outcome.epochs_done, kEpochs);
  EXPECT_EQ(outcome.epochs_done, outcome.best_epoch + 3);
  ASSERT_EQ(outcome.reports.size(), static_cast<size_t>(outcome.epochs_done));
  const double best_loss = outcome.reports[outcome.best_epoch - 1].validation->loss;
  for (int epoch = 1; epoch <= outcome.epochs_done; ++epoch) {
    const double loss = outcome.reports[epoch - 1].validation->loss;
    if (epoch < outcome.best_epoch) {
      EXPECT_GT(loss, best_loss) << epoch;
    } else if (epoch > outcome.best_epoch) {
      EXPECT_GE(loss, best_loss) << epoch;
    }
  }
  EXPECT_TRUE(Identical(outcome.shipped, WeightsPerEpoch()[outcome.best_epoch]));
  EXPECT_TRUE(run->done());
  EXPECT_TRUE(absl::IsFailedPrecondition(run->RunEpoch().status()));
}

TEST(TrainingRunTest, ResumingAfterAnyEpochTakesTheSameDecisionsAndShipsTheSameWeights) {
  auto uninterrupted_run = NewRun(/*patience=*/3);
  const Outcome uninterrupted = Finish(*uninterrupted_run);
  ASSERT_TRUE(uninterrupted.stopped_early);
  // Every epoch, including those after the best, when the checkpoint must
  // carry the best epoch's state beside the last one's.
  for (int stop_after = 1; stop_after <= uninterrupted.epochs_done; ++stop_after) {
    std::string bytes;
    {
      auto first = NewRun(3);
      for (int epoch = 1; epoch <= stop_after; ++epoch) ASSERT_TRUE(first->RunEpoch().ok());
      bytes = first->SaveCheckpoint().value();
    }
    for (const bool keep_best : {true, false}) {  // the shipping rank and the others
      auto resumed = NewRun(3, keep_best);
      ASSERT_TRUE(resumed->RestoreCheckpoint(bytes).ok()) << stop_after;
      EXPECT_EQ(resumed->epochs_done(), stop_after);
      // What it can report again of the epochs it restored.
      const RunEpochReport& last = uninterrupted.reports[stop_after - 1];
      EXPECT_EQ(resumed->last_report().training.epoch, stop_after);
      EXPECT_EQ(resumed->last_report().training.mean_loss, last.training.mean_loss);
      EXPECT_EQ(resumed->last_report().validation->loss, last.validation->loss);
      EXPECT_EQ(resumed->last_report().best, last.best);
      const int best_so_far = resumed->best_epoch();
      EXPECT_TRUE(resumed->best_report().best);
      EXPECT_EQ(resumed->best_report().training.epoch, best_so_far);
      EXPECT_EQ(resumed->best_report().validation->loss,
                uninterrupted.reports[best_so_far - 1].validation->loss);
      std::vector<RunEpochReport> reports;
      while (!resumed->done()) reports.push_back(resumed->RunEpoch().value());
      EXPECT_EQ(resumed->epochs_done(), uninterrupted.epochs_done) << stop_after;
      EXPECT_EQ(resumed->best_epoch(), uninterrupted.best_epoch) << stop_after;
      EXPECT_TRUE(resumed->stopped_early());
      ASSERT_EQ(reports.size(), uninterrupted.reports.size() - stop_after);
      for (size_t i = 0; i < reports.size(); ++i) {
        const RunEpochReport& expected = uninterrupted.reports[stop_after + i];
        EXPECT_EQ(reports[i].training.mean_loss, expected.training.mean_loss);
        EXPECT_EQ(reports[i].validation->loss, expected.validation->loss);
        EXPECT_EQ(reports[i].validation->recall_at_1, expected.validation->recall_at_1);
        EXPECT_EQ(reports[i].best, expected.best);
      }
      if (keep_best) {
        EXPECT_TRUE(Identical(resumed->TakeBestWeights().value(), uninterrupted.shipped))
            << "resumed after epoch " << stop_after;
      } else {
        EXPECT_TRUE(absl::IsFailedPrecondition(resumed->TakeBestWeights().status()));
      }
    }
  }
}

TEST(TrainingRunTest, ACheckpointTakenAfterTheStopShipsTheBestAtOnce) {
  auto first = NewRun(3);
  const Outcome outcome = Finish(*NewRun(3));
  while (!first->done()) ASSERT_TRUE(first->RunEpoch().ok());
  const std::string bytes = first->SaveCheckpoint().value();
  auto resumed = NewRun(3);
  ASSERT_TRUE(resumed->RestoreCheckpoint(bytes).ok());
  EXPECT_TRUE(resumed->done());
  EXPECT_TRUE(Identical(resumed->TakeBestWeights().value(), outcome.shipped));
}

TEST(TrainingRunTest, WithoutValidationEveryEpochRunsAndTheLastShips) {
  auto run = NewRun(/*patience=*/2, true, Examples{});
  const Outcome outcome = Finish(*run);
  EXPECT_EQ(outcome.epochs_done, kEpochs);
  EXPECT_EQ(outcome.best_epoch, kEpochs);
  EXPECT_FALSE(outcome.stopped_early);
  for (const RunEpochReport& report : outcome.reports) {
    EXPECT_FALSE(report.validation);
    EXPECT_TRUE(report.best);
  }
  EXPECT_TRUE(Identical(outcome.shipped, WeightsPerEpoch()[kEpochs]));

  auto partial = NewRun(2, true, Examples{});
  ASSERT_TRUE(partial->RunEpoch().ok());
  const RunCheckpoint saved = DecodeRunCheckpoint(partial->SaveCheckpoint().value()).value();
  EXPECT_TRUE(saved.best_trainer.empty());  // no second copy of the model
  EXPECT_EQ(saved.stopping.best_epoch, 1);
}

TEST(TrainingRunTest, RefusesCheckpointsItCannotResumeExactly) {
  auto run = NewRun(3);
  const Outcome outcome = Finish(*NewRun(3));
  for (int epoch = 1; epoch <= outcome.best_epoch + 1; ++epoch) ASSERT_TRUE(run->RunEpoch().ok());
  RunCheckpoint saved = DecodeRunCheckpoint(run->SaveCheckpoint().value()).value();
  ASSERT_FALSE(saved.best_trainer.empty());

  RunCheckpoint without_best = saved;
  without_best.best_trainer.clear();
  EXPECT_TRUE(absl::IsDataLoss(NewRun(3)->RestoreCheckpoint(EncodeRunCheckpoint(without_best))));
  RunCheckpoint wrong_epoch = saved;
  wrong_epoch.stopping.last_epoch += 1;
  EXPECT_TRUE(absl::IsDataLoss(NewRun(3)->RestoreCheckpoint(EncodeRunCheckpoint(wrong_epoch))));
  RunCheckpoint wrong_report = saved;
  wrong_report.best_report = saved.last_report;
  EXPECT_TRUE(absl::IsDataLoss(NewRun(3)->RestoreCheckpoint(EncodeRunCheckpoint(wrong_report))));
  // The trainer's checkpoint alone is not a run's.
  EXPECT_TRUE(absl::IsDataLoss(NewRun(3)->RestoreCheckpoint(saved.trainer)));
  EXPECT_TRUE(absl::IsFailedPrecondition(NewRun(3, false)->SaveCheckpoint().status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(NewRun(3)->TakeBestWeights().status()));
}

}  // namespace
}  // namespace kiln::model
