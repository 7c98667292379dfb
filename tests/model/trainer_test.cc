#include "services/model/trainer.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/model/predict.h"
#include "synthetic_data.h"

namespace kiln::model {
namespace {

TrainingOptions SmallOptions() {
  TrainingOptions options;
  options.epochs = 4;
  options.batch_size = 16;
  options.learning_rate = 0.01f;
  options.seed = 42;
  return options;
}

ModelWeights Train(const ModelShape& shape, const TrainingOptions& options,
                   const Examples& examples) {
  auto trainer = Trainer::Create(shape, options, examples).value();
  while (!trainer->done()) {
    const absl::StatusOr<EpochMetrics> metrics = trainer->RunEpoch();
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    if (!metrics.ok()) break;
  }
  return trainer->ExportWeights();
}

void ExpectIdentical(const ModelWeights& a, const ModelWeights& b) {
  EXPECT_EQ(a.embedding, b.embedding);
  EXPECT_EQ(a.hidden_kernel, b.hidden_kernel);
  EXPECT_EQ(a.hidden_bias, b.hidden_bias);
  EXPECT_EQ(a.output_kernel, b.output_kernel);
  EXPECT_EQ(a.output_bias, b.output_bias);
}

double Accuracy(const ModelWeights& weights, const Examples& examples) {
  const std::vector<float> probabilities = Predict(weights, examples.ids).value();
  const int classes = weights.shape.num_classes;
  int64_t hits = 0;
  for (int64_t i = 0; i < examples.size(); ++i) {
    const float* row = probabilities.data() + i * classes;
    int best = 0;
    for (int c = 1; c < classes; ++c) {
      if (row[c] > row[best]) best = c;
    }
    hits += best == examples.labels[i];
  }
  return static_cast<double>(hits) / static_cast<double>(examples.size());
}

class TrainerPoolingTest : public ::testing::TestWithParam<Pooling> {};

TEST_P(TrainerPoolingTest, LearnsASeparableTask) {
  const ModelShape shape = testing::SyntheticShape(GetParam());
  const Examples train = testing::SyntheticExamples(shape, 600, 1);
  const Examples test = testing::SyntheticExamples(shape, 300, 2);
  TrainingOptions options = SmallOptions();
  options.epochs = 8;
  auto trainer = Trainer::Create(shape, options, train).value();
  double first_loss = 0;
  double last_loss = 0;
  while (!trainer->done()) {
    const absl::StatusOr<EpochMetrics> metrics = trainer->RunEpoch();
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    EXPECT_EQ(metrics->examples, 600);
    EXPECT_GT(metrics->samples_per_second, 0);
    if (metrics->epoch == 1) first_loss = metrics->mean_loss;
    last_loss = metrics->mean_loss;
  }
  EXPECT_LT(last_loss, first_loss / 2);
  // Flatten must learn every keyword at every position: less data-efficient.
  EXPECT_GE(Accuracy(trainer->ExportWeights(), test),
            GetParam() == Pooling::kFlatten ? 0.85 : 0.95);
}

INSTANTIATE_TEST_SUITE_P(BothPoolings, TrainerPoolingTest,
                         ::testing::Values(Pooling::kGlobalAverage, Pooling::kFlatten));

TEST(TrainerTest, SameSeedSameWeights) {
  const ModelShape shape = testing::SyntheticShape();
  const Examples train = testing::SyntheticExamples(shape, 300, 1);
  const ModelWeights first = Train(shape, SmallOptions(), train);
  ExpectIdentical(first, Train(shape, SmallOptions(), train));

  TrainingOptions other_seed = SmallOptions();
  other_seed.seed = 43;
  EXPECT_NE(first.embedding, Train(shape, other_seed, train).embedding);
}

TEST(TrainerTest, ThreadCountDoesNotChangeTheWeights) {
  // Every sum runs in a fixed order, whatever the chunking across threads.
  const ModelShape shape = testing::SyntheticShape();
  const Examples train = testing::SyntheticExamples(shape, 300, 1);
  TrainingOptions one_thread = SmallOptions();
  one_thread.threads = 1;
  TrainingOptions two_threads = SmallOptions();
  two_threads.threads = 2;
  ExpectIdentical(Train(shape, one_thread, train), Train(shape, two_threads, train));
}

class ResumeTest : public ::testing::TestWithParam<ModelShape> {};

// tfidf with dropout too: its idf comes back from the data and its masks
// from the seed and the epoch, not from the checkpoint.
TEST_P(ResumeTest, ResumingFromACheckpointEqualsAnUninterruptedRun) {
  const ModelShape shape = GetParam();
  const Examples train = testing::SyntheticExamples(shape, 300, 1);
  const ModelWeights uninterrupted = Train(shape, SmallOptions(), train);

  std::string checkpoint;
  {
    auto first = Trainer::Create(shape, SmallOptions(), train).value();
    ASSERT_TRUE(first->RunEpoch().ok());
    ASSERT_TRUE(first->RunEpoch().ok());
    checkpoint = first->SaveCheckpoint().value();
  }
  auto resumed = Trainer::Create(shape, SmallOptions(), train).value();
  ASSERT_TRUE(resumed->RestoreCheckpoint(checkpoint).ok());
  EXPECT_EQ(resumed->epochs_done(), 2);
  while (!resumed->done()) ASSERT_TRUE(resumed->RunEpoch().ok());
  ExpectIdentical(resumed->ExportWeights(), uninterrupted);
}

INSTANTIATE_TEST_SUITE_P(BothArchitectures, ResumeTest,
                         ::testing::Values(testing::SyntheticShape(),
                                           testing::SyntheticTfidfShape()));

TEST(TrainerTest, TfidfLearnsTheSyntheticTaskAndItsDropoutMatters) {
  const ModelShape shape = testing::SyntheticTfidfShape();
  const Examples train = testing::SyntheticExamples(shape, 300, 1);
  const Examples test = testing::SyntheticExamples(shape, 200, 2);
  TrainingOptions options = SmallOptions();
  options.epochs = 8;
  const ModelWeights weights = Train(shape, options, train);
  ASSERT_EQ(weights.idf.size(), static_cast<size_t>(shape.vocab_size));
  EXPECT_EQ(weights.idf[0], 0.0f);
  EXPECT_GT(weights.idf[15], weights.idf[5]);  // a class keyword is rarer than noise
  const std::vector<float> probabilities = Predict(weights, test.ids).value();
  int correct = 0;
  for (int64_t i = 0; i < test.size(); ++i) {
    const float* row = probabilities.data() + i * shape.num_classes;
    correct += std::max_element(row, row + shape.num_classes) - row == test.labels[i];
  }
  EXPECT_GT(correct, 180) << "of 200";
  ModelShape without_dropout = shape;
  without_dropout.dropout = 0;
  EXPECT_NE(Train(without_dropout, options, train).output_kernel, weights.output_kernel);
}

TEST(TrainerTest, RefusesACheckpointOfAnotherRun) {
  const ModelShape shape = testing::SyntheticShape();
  const Examples train = testing::SyntheticExamples(shape, 100, 1);
  auto trainer = Trainer::Create(shape, SmallOptions(), train).value();
  const std::string checkpoint = trainer->SaveCheckpoint().value();

  TrainingOptions other_rate = SmallOptions();
  other_rate.learning_rate = 0.02f;
  auto other = Trainer::Create(shape, other_rate, train).value();
  EXPECT_TRUE(absl::IsFailedPrecondition(other->RestoreCheckpoint(checkpoint)));
  EXPECT_TRUE(absl::IsDataLoss(other->RestoreCheckpoint(checkpoint.substr(1))));
}

TEST(TrainerTest, CancellationStopsTheEpochUntilRestored) {
  const ModelShape shape = testing::SyntheticShape();
  const Examples train = testing::SyntheticExamples(shape, 300, 1);
  auto trainer = Trainer::Create(shape, SmallOptions(), train).value();
  const std::string start = trainer->SaveCheckpoint().value();

  int64_t steps_seen = 0;
  const absl::StatusOr<EpochMetrics> cancelled = trainer->RunEpoch(
      [&](const StepProgress& progress) {
        steps_seen = progress.step;
        EXPECT_EQ(progress.steps, 19);  // ceil(300 / 16)
        EXPECT_GT(progress.loss, 0.0f);
      },
      [&] { return steps_seen == 3; });
  EXPECT_TRUE(absl::IsCancelled(cancelled.status())) << cancelled.status();
  EXPECT_EQ(steps_seen, 3);
  EXPECT_TRUE(absl::IsFailedPrecondition(trainer->RunEpoch().status()));
  EXPECT_FALSE(trainer->SaveCheckpoint().ok());

  ASSERT_TRUE(trainer->RestoreCheckpoint(start).ok());
  EXPECT_TRUE(trainer->RunEpoch().ok());
}

TEST(TrainerTest, ValidatesItsInput) {
  const ModelShape shape = testing::SyntheticShape();
  Examples train = testing::SyntheticExamples(shape, 10, 1);
  TrainingOptions bad = SmallOptions();
  bad.batch_size = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(Trainer::Create(shape, bad, train).status()));
  bad = SmallOptions();
  bad.learning_rate = -1;
  EXPECT_TRUE(absl::IsInvalidArgument(Trainer::Create(shape, bad, train).status()));

  Examples bad_label = train;
  bad_label.labels[3] = shape.num_classes;
  EXPECT_TRUE(absl::IsInvalidArgument(Trainer::Create(shape, SmallOptions(), bad_label).status()));
  Examples bad_id = train;
  bad_id.ids[5] = -1;
  EXPECT_TRUE(absl::IsInvalidArgument(Trainer::Create(shape, SmallOptions(), bad_id).status()));
  Examples ragged = train;
  ragged.ids.pop_back();
  EXPECT_TRUE(absl::IsInvalidArgument(Trainer::Create(shape, SmallOptions(), ragged).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Trainer::Create(shape, SmallOptions(), Examples{}).status()));

  ModelShape bad_shape = shape;
  bad_shape.num_classes = 1;
  EXPECT_TRUE(absl::IsInvalidArgument(Trainer::Create(bad_shape, SmallOptions(), train).status()));
}

TEST(TrainerTest, StopsAfterTheLastEpoch) {
  const ModelShape shape = testing::SyntheticShape();
  TrainingOptions options = SmallOptions();
  options.epochs = 1;
  auto trainer = Trainer::Create(shape, options, testing::SyntheticExamples(shape, 50, 1)).value();
  ASSERT_TRUE(trainer->RunEpoch().ok());
  EXPECT_TRUE(trainer->done());
  EXPECT_TRUE(absl::IsFailedPrecondition(trainer->RunEpoch().status()));
}

}  // namespace
}  // namespace kiln::model
