#include "services/model/checkpoint.h"

#include <string>

#include "gtest/gtest.h"
#include "services/model/parameters.h"
#include "synthetic_data.h"

namespace kiln::model {
namespace {

TrainingState SampleState() {
  TrainingState state;
  state.shape = testing::SyntheticShape(Pooling::kFlatten);
  const Parameters params = Parameters::Initial(state.shape, 4);
  state.batch_size = 32;
  state.learning_rate = 0.005f;
  state.seed = 1234567890123ULL;
  state.examples = 777;
  state.epochs_done = 3;
  state.step = 75;
  state.embedding = params.embedding;
  state.dense = params.dense;
  state.embedding_first_moment.assign(params.embedding.size(), 0.25f);
  state.embedding_second_moment.assign(params.embedding.size(), 0.5f);
  state.dense_first_moment.assign(params.dense.size(), -1.0f);
  state.dense_second_moment.assign(params.dense.size(), 2.0f);
  return state;
}

TEST(CheckpointTest, RoundTrips) {
  const TrainingState state = SampleState();
  const absl::StatusOr<TrainingState> decoded = DecodeCheckpoint(EncodeCheckpoint(state));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(SameShape(decoded->shape, state.shape));
  EXPECT_EQ(decoded->batch_size, state.batch_size);
  EXPECT_EQ(decoded->learning_rate, state.learning_rate);
  EXPECT_EQ(decoded->seed, state.seed);
  EXPECT_EQ(decoded->examples, state.examples);
  EXPECT_EQ(decoded->epochs_done, state.epochs_done);
  EXPECT_EQ(decoded->step, state.step);
  EXPECT_EQ(decoded->embedding, state.embedding);
  EXPECT_EQ(decoded->dense, state.dense);
  EXPECT_EQ(decoded->embedding_first_moment, state.embedding_first_moment);
  EXPECT_EQ(decoded->embedding_second_moment, state.embedding_second_moment);
  EXPECT_EQ(decoded->dense_first_moment, state.dense_first_moment);
  EXPECT_EQ(decoded->dense_second_moment, state.dense_second_moment);
}

TEST(CheckpointTest, KeepsTheArchitectureAndDropout) {
  TrainingState state = SampleState();
  state.shape.architecture = Architecture::kTfidf;
  state.shape.embedding_dim = state.shape.hidden_units;
  state.shape.dropout = 0.25f;
  const Parameters params = Parameters::Initial(state.shape, 1);
  state.embedding = params.embedding;
  state.dense = params.dense;
  state.embedding_first_moment = state.embedding_second_moment = params.embedding;
  state.dense_first_moment = state.dense_second_moment = params.dense;
  const absl::StatusOr<TrainingState> decoded = DecodeCheckpoint(EncodeCheckpoint(state));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->shape.tfidf());
  EXPECT_EQ(decoded->shape.dropout, 0.25f);
  EXPECT_TRUE(SameShape(decoded->shape, state.shape));
}

TEST(CheckpointTest, RejectsDamage) {
  const std::string bytes = EncodeCheckpoint(SampleState());
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x01;
  EXPECT_TRUE(absl::IsDataLoss(DecodeCheckpoint(flipped).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeCheckpoint(bytes.substr(0, bytes.size() - 9)).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeCheckpoint("not a checkpoint").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeCheckpoint("").status()));
}

TEST(CheckpointTest, RejectsTensorsThatDoNotFitTheShape) {
  TrainingState state = SampleState();
  state.dense_second_moment.pop_back();
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeCheckpoint(EncodeCheckpoint(state)).status()));
}

}  // namespace
}  // namespace kiln::model
