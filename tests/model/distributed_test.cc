// Data-parallel training with two ranks as two threads over a TCPStore and
// Gloo on loopback.
#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "services/model/communicator.h"
#include "services/model/trainer.h"
#include "synthetic_data.h"

namespace kiln::model {
namespace {

struct RankOutcome {
  absl::Status status;
  ModelWeights weights;
  std::vector<EpochMetrics> epochs;
};

DistributedOptions LoopbackOptions(int rank, int port, absl::Duration timeout) {
  DistributedOptions options;
  options.rank = rank;
  options.world_size = 2;
  options.store_host = "127.0.0.1";
  options.store_port = port;
  options.transport_host = "127.0.0.1";
  options.key_prefix = "distributed_test";
  options.timeout = timeout;
  return options;
}

// Trains one rank to the end, or until `leave_at_step` of the first epoch,
// where it cancels and drops its communicator as a crashed worker would.
RankOutcome RunRank(std::unique_ptr<Communicator> communicator, const ModelShape& shape,
                    const TrainingOptions& options, Examples shard, int leave_at_step = -1) {
  RankOutcome outcome;
  outcome.status = communicator->Connect();
  if (!outcome.status.ok()) return outcome;
  absl::StatusOr<std::unique_ptr<Trainer>> trainer =
      Trainer::Create(shape, options, std::move(shard), communicator.get());
  if (!trainer.ok()) {
    outcome.status = trainer.status();
    return outcome;
  }
  int64_t step = 0;
  while (!(*trainer)->done()) {
    absl::StatusOr<EpochMetrics> metrics =
        (*trainer)->RunEpoch([&](const StepProgress& progress) { step = progress.step; },
                             [&] { return leave_at_step >= 0 && step >= leave_at_step; });
    if (!metrics.ok()) {
      outcome.status = metrics.status();
      return outcome;
    }
    outcome.epochs.push_back(*metrics);
  }
  outcome.weights = (*trainer)->ExportWeights();
  return outcome;
}

TrainingOptions Options() {
  TrainingOptions options;
  options.epochs = 3;
  options.batch_size = 16;
  options.learning_rate = 0.01f;
  options.seed = 5;
  return options;
}

float MaxDifference(const std::vector<float>& a, const std::vector<float>& b) {
  float max = 0;
  for (size_t i = 0; i < a.size(); ++i) max = std::max(max, std::abs(a[i] - b[i]));
  return max;
}

class TwoRanksTest : public ::testing::TestWithParam<ModelShape> {};

TEST_P(TwoRanksTest, TakeTheStepsOfOne) {
  const ModelShape shape = GetParam();
  // An odd count: the shards differ in size and so do most local batches.
  const Examples all = testing::SyntheticExamples(shape, 301, 1);

  auto single = Trainer::Create(shape, Options(), all).value();
  while (!single->done()) ASSERT_TRUE(single->RunEpoch().ok());
  const ModelWeights expected = single->ExportWeights();

  auto rank0 = Communicator::Create(LoopbackOptions(0, 0, absl::Seconds(30)));
  ASSERT_TRUE(rank0.ok()) << rank0.status();
  const int port = (*rank0)->store_port();
  ASSERT_GT(port, 0);
  auto rank1 = Communicator::Create(LoopbackOptions(1, port, absl::Seconds(30)));
  ASSERT_TRUE(rank1.ok()) << rank1.status();

  RankOutcome outcome0, outcome1;
  std::thread thread0([&] {
    outcome0 =
        RunRank(std::move(*rank0), shape, Options(), ShardExamples(all, shape.max_length, 0, 2));
  });
  std::thread thread1([&] {
    outcome1 =
        RunRank(std::move(*rank1), shape, Options(), ShardExamples(all, shape.max_length, 1, 2));
  });
  thread0.join();
  thread1.join();
  ASSERT_TRUE(outcome0.status.ok()) << outcome0.status;
  ASSERT_TRUE(outcome1.status.ok()) << outcome1.status;
  ASSERT_EQ(outcome0.epochs.size(), 3u);
  EXPECT_EQ(outcome0.epochs[0].examples, 301);

  // The ranks agree bit for bit: every rank merges the gathered gradients in
  // the same order.
  EXPECT_EQ(outcome0.weights.embedding, outcome1.weights.embedding);
  EXPECT_EQ(outcome0.weights.hidden_kernel, outcome1.weights.hidden_kernel);
  EXPECT_EQ(outcome0.weights.output_bias, outcome1.weights.output_bias);
  // And match one rank up to the order of float additions.
  EXPECT_LT(MaxDifference(outcome0.weights.embedding, expected.embedding), 1e-3);
  EXPECT_LT(MaxDifference(outcome0.weights.hidden_kernel, expected.hidden_kernel), 1e-3);
  EXPECT_LT(MaxDifference(outcome0.weights.hidden_bias, expected.hidden_bias), 1e-3);
  EXPECT_LT(MaxDifference(outcome0.weights.output_kernel, expected.output_kernel), 1e-3);
  EXPECT_LT(MaxDifference(outcome0.weights.output_bias, expected.output_bias), 1e-3);
  // tfidf: the inverse document frequencies of the whole set, on every rank.
  EXPECT_EQ(outcome0.weights.idf, expected.idf);
  EXPECT_EQ(outcome1.weights.idf, expected.idf);
}

// The article's model, and the tfidf model with dropout (whose masks must
// not depend on which rank holds an example).
INSTANTIATE_TEST_SUITE_P(BothArchitectures, TwoRanksTest,
                         ::testing::Values(testing::SyntheticShape(),
                                           testing::SyntheticTfidfShape()));

TEST(DistributedTest, LosingAPeerFailsTheOtherRankWithAStatus) {
  const ModelShape shape = testing::SyntheticShape();
  const Examples all = testing::SyntheticExamples(shape, 300, 1);
  auto rank0 = Communicator::Create(LoopbackOptions(0, 0, absl::Seconds(5)));
  ASSERT_TRUE(rank0.ok()) << rank0.status();
  auto rank1 = Communicator::Create(LoopbackOptions(1, (*rank0)->store_port(), absl::Seconds(5)));
  ASSERT_TRUE(rank1.ok()) << rank1.status();

  RankOutcome outcome0, outcome1;
  std::thread thread0([&] {
    outcome0 =
        RunRank(std::move(*rank0), shape, Options(), ShardExamples(all, shape.max_length, 0, 2));
  });
  std::thread thread1([&] {
    outcome1 =
        RunRank(std::move(*rank1), shape, Options(), ShardExamples(all, shape.max_length, 1, 2),
                /*leave_at_step=*/3);
  });
  thread1.join();
  thread0.join();
  EXPECT_TRUE(absl::IsCancelled(outcome1.status)) << outcome1.status;
  EXPECT_TRUE(absl::IsUnavailable(outcome0.status)) << outcome0.status;
}

TEST(DistributedTest, RendezvousWithoutPeersTimesOut) {
  auto alone = Communicator::Create(LoopbackOptions(0, 0, absl::Seconds(1)));
  ASSERT_TRUE(alone.ok()) << alone.status();
  const absl::Status status = (*alone)->Connect();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  std::vector<float> values = {1.0f};
  EXPECT_TRUE(absl::IsUnavailable((*alone)->AllReduceSum(absl::MakeSpan(values))));
}

TEST(DistributedTest, ValidatesOptions) {
  DistributedOptions options = LoopbackOptions(2, 1234, absl::Seconds(1));
  EXPECT_TRUE(absl::IsInvalidArgument(Communicator::Create(options).status()));
  options = LoopbackOptions(1, 0, absl::Seconds(1));
  EXPECT_TRUE(absl::IsInvalidArgument(Communicator::Create(options).status()));
  options = LoopbackOptions(0, 0, absl::Seconds(1));
  options.world_size = 1;
  EXPECT_TRUE(absl::IsInvalidArgument(Communicator::Create(options).status()));
}

}  // namespace
}  // namespace kiln::model
