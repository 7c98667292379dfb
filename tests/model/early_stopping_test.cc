// The early-stopping rule and the run checkpoint's byte form.
#include "services/model/early_stopping.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "services/model/run_checkpoint.h"

namespace kiln::model {
namespace {

TEST(EarlyStoppingTest, TheFirstLowestLossIsBestAndPatienceCountsFromIt) {
  EarlyStopping stopping(2);
  EXPECT_TRUE(stopping.Record(1.0));
  EXPECT_TRUE(stopping.Record(0.8));
  EXPECT_FALSE(stopping.Record(0.8));  // equal is no improvement
  EXPECT_FALSE(stopping.ShouldStop());
  EXPECT_TRUE(stopping.Record(0.7));  // the count starts again
  EXPECT_FALSE(stopping.Record(0.9));
  EXPECT_FALSE(stopping.ShouldStop());
  EXPECT_FALSE(stopping.Record(0.75));
  EXPECT_TRUE(stopping.ShouldStop());
  EXPECT_EQ(stopping.state().last_epoch, 6);
  EXPECT_EQ(stopping.state().best_epoch, 4);
  EXPECT_EQ(stopping.state().best_loss, 0.7);
}

TEST(EarlyStoppingTest, PatienceZeroNeverStopsButStillTracksTheBest) {
  EarlyStopping stopping(0);
  EXPECT_TRUE(stopping.Record(0.5));
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(stopping.Record(1.0 + i));
  EXPECT_FALSE(stopping.ShouldStop());
  EXPECT_EQ(stopping.state().best_epoch, 1);
}

TEST(EarlyStoppingTest, WithoutValidationEveryEpochIsTheBest) {
  EarlyStopping stopping(1);
  for (int epoch = 1; epoch <= 5; ++epoch) {
    EXPECT_TRUE(stopping.Record(std::nullopt));
    EXPECT_EQ(stopping.state().best_epoch, epoch);
    EXPECT_FALSE(stopping.ShouldStop());
  }
}

TEST(EarlyStoppingTest, NanLossesNeverBeatNumbers) {
  EarlyStopping stopping(3);
  EXPECT_TRUE(stopping.Record(std::nan("")));  // the first is the best there is
  EXPECT_TRUE(stopping.Record(5.0));           // any number beats it
  EXPECT_FALSE(stopping.Record(std::nan("")));
  EXPECT_EQ(stopping.state().best_epoch, 2);
  EXPECT_EQ(stopping.state().best_loss, 5.0);
}

TEST(EarlyStoppingTest, RestoreContinuesAndRefusesUnreachableStates) {
  EarlyStopping stopping(2);
  ASSERT_TRUE(stopping.Restore({6, 5, 0.25}).ok());
  EXPECT_FALSE(stopping.ShouldStop());
  EXPECT_FALSE(stopping.Record(0.3));
  EXPECT_TRUE(stopping.ShouldStop());
  EXPECT_EQ(stopping.state().last_epoch, 7);

  for (const EarlyStoppingState& bad :
       {EarlyStoppingState{3, 4, 0.1}, EarlyStoppingState{-1, 0, 0.1},
        EarlyStoppingState{2, 0, 0.1}, EarlyStoppingState{0, 1, 0.1},
        EarlyStoppingState{3, 2, std::nan("")}}) {
    EXPECT_TRUE(absl::IsInvalidArgument(stopping.Restore(bad)))
        << bad.last_epoch << " " << bad.best_epoch;
  }
}

TEST(RunCheckpointTest, RoundTripsAndRejectsDamage) {
  RunCheckpoint checkpoint;
  checkpoint.stopping = {9, 6, 0.4321};
  checkpoint.last_report.training = {9, 500, 0.25, 0.9, 1.5, 333.3};
  checkpoint.last_report.validation = ValidationFigures{50, 0.5, 0.8, 0.96};
  checkpoint.best_report.training = {6, 500, 0.3, 0.85, 1.25, 400};
  checkpoint.best_report.best = true;
  checkpoint.trainer = std::string(1000, 't');
  checkpoint.best_trainer = std::string(999, 'b');
  const std::string bytes = EncodeRunCheckpoint(checkpoint);
  const absl::StatusOr<RunCheckpoint> decoded = DecodeRunCheckpoint(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->stopping.last_epoch, 9);
  EXPECT_EQ(decoded->stopping.best_epoch, 6);
  EXPECT_EQ(decoded->stopping.best_loss, 0.4321);
  EXPECT_EQ(decoded->last_report.training.epoch, 9);
  EXPECT_EQ(decoded->last_report.training.samples_per_second, 333.3);
  EXPECT_FALSE(decoded->last_report.best);
  ASSERT_TRUE(decoded->last_report.validation);
  EXPECT_EQ(decoded->last_report.validation->examples, 50);
  EXPECT_EQ(decoded->last_report.validation->recall_at_3, 0.96);
  EXPECT_EQ(decoded->best_report.training.mean_loss, 0.3);
  EXPECT_TRUE(decoded->best_report.best);
  EXPECT_FALSE(decoded->best_report.validation);
  EXPECT_EQ(decoded->trainer, checkpoint.trainer);
  EXPECT_EQ(decoded->best_trainer, checkpoint.best_trainer);

  checkpoint.best_trainer.clear();
  checkpoint.stopping.best_loss = std::numeric_limits<double>::infinity();
  const absl::StatusOr<RunCheckpoint> no_best =
      DecodeRunCheckpoint(EncodeRunCheckpoint(checkpoint));
  ASSERT_TRUE(no_best.ok()) << no_best.status();
  EXPECT_TRUE(no_best->best_trainer.empty());
  EXPECT_TRUE(std::isinf(no_best->stopping.best_loss));

  // An epoch, the loss, a report, a length.
  for (size_t at : {size_t{10}, size_t{20}, size_t{30}, size_t{180}}) {
    std::string flipped = bytes;
    flipped[at] ^= 0x01;
    EXPECT_TRUE(absl::IsDataLoss(DecodeRunCheckpoint(flipped).status())) << at;
  }
  EXPECT_TRUE(absl::IsDataLoss(DecodeRunCheckpoint(bytes.substr(0, bytes.size() - 1)).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeRunCheckpoint(bytes + "x").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeRunCheckpoint(std::string(checkpoint.trainer)).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeRunCheckpoint("").status()));
}

}  // namespace
}  // namespace kiln::model
