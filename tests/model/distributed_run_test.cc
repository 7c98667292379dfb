// Two ranks (threads over a TCPStore and Gloo on loopback) each run a
// TrainingRun with early stopping on the whole validation set: they must
// take the same decisions without exchanging them, or one rank would wait
// in a collective for a peer that already stopped.
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "services/model/communicator.h"
#include "services/model/training_run.h"
#include "synthetic_data.h"

namespace kiln::model {
namespace {

struct RankRun {
  absl::Status status;
  std::vector<RunEpochReport> reports;
  int best_epoch = 0;
  bool stopped_early = false;
};

TEST(DistributedRunTest, RanksStopAtTheSameEpochWithTheSameBest) {
  const ModelShape shape = testing::SyntheticShape();
  const Examples training = testing::SyntheticExamples(shape, 24, 1);
  const Examples validation = testing::SyntheticExamples(shape, 300, 2);
  TrainingOptions options;  // the overfitting schedule of training_run_test
  options.epochs = 40;
  options.batch_size = 8;
  options.learning_rate = 0.05f;
  options.seed = 7;

  DistributedOptions base;
  base.world_size = 2;
  base.store_host = "127.0.0.1";
  base.transport_host = "127.0.0.1";
  base.key_prefix = "distributed_run_test";
  base.timeout = absl::Seconds(30);
  DistributedOptions first = base;
  first.rank = 0;
  first.store_port = 0;
  auto rank0 = Communicator::Create(first);
  ASSERT_TRUE(rank0.ok()) << rank0.status();
  DistributedOptions second = base;
  second.rank = 1;
  second.store_port = (*rank0)->store_port();
  auto rank1 = Communicator::Create(second);
  ASSERT_TRUE(rank1.ok()) << rank1.status();

  std::vector<RankRun> runs(2);
  auto run_rank = [&](int rank, Communicator* communicator) {
    RankRun& out = runs[rank];
    out.status = communicator->Connect();
    if (!out.status.ok()) return;
    auto trainer = Trainer::Create(
        shape, options, ShardExamples(training, shape.max_length, rank, 2), communicator);
    if (!trainer.ok()) {
      out.status = trainer.status();
      return;
    }
    RunOptions run_options;
    run_options.patience = 3;
    run_options.keep_best = rank == 0;
    TrainingRun run(*std::move(trainer), validation, run_options);
    while (!run.done()) {
      absl::StatusOr<RunEpochReport> report = run.RunEpoch();
      if (!report.ok()) {
        out.status = report.status();
        return;
      }
      out.reports.push_back(*report);
    }
    out.best_epoch = run.best_epoch();
    out.stopped_early = run.stopped_early();
  };
  std::thread thread0(run_rank, 0, rank0->get());
  std::thread thread1(run_rank, 1, rank1->get());
  thread0.join();
  thread1.join();
  ASSERT_TRUE(runs[0].status.ok()) << runs[0].status;
  ASSERT_TRUE(runs[1].status.ok()) << runs[1].status;
  EXPECT_TRUE(runs[0].stopped_early);
  EXPECT_TRUE(runs[1].stopped_early);
  EXPECT_EQ(runs[0].best_epoch, runs[1].best_epoch);
  ASSERT_EQ(runs[0].reports.size(), runs[1].reports.size());
  EXPECT_LT(runs[0].reports.size(), 40u);
  for (size_t i = 0; i < runs[0].reports.size(); ++i) {
    EXPECT_EQ(runs[0].reports[i].validation->loss, runs[1].reports[i].validation->loss) << i;
    EXPECT_EQ(runs[0].reports[i].best, runs[1].reports[i].best) << i;
  }
}

}  // namespace
}  // namespace kiln::model
