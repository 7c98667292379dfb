// Validation figures against the plain forward pass of reference_forward.h.
#include "services/model/validation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "services/model/trainer.h"
#include "synthetic_data.h"
#include "tests/model/reference_forward.h"

namespace kiln::model {
namespace {

ModelWeights TrainedWeights(const ModelShape& shape) {
  TrainingOptions options;
  options.epochs = 2;
  options.batch_size = 16;
  options.learning_rate = 0.01f;
  options.seed = 3;
  auto trainer = Trainer::Create(shape, options, testing::SyntheticExamples(shape, 200, 1)).value();
  while (!trainer->done()) EXPECT_TRUE(trainer->RunEpoch().ok());
  return trainer->ExportWeights();
}

// The figures worked out from the reference forward pass.
ValidationFigures Expected(const ModelWeights& weights, const Examples& examples) {
  const int length = weights.shape.max_length;
  ValidationFigures figures;
  figures.examples = examples.size();
  for (int64_t i = 0; i < examples.size(); ++i) {
    const std::vector<float> p = testing::ReferenceForward(
        weights, absl::MakeConstSpan(examples.ids.data() + i * length, length));
    const int label = examples.labels[i];
    int above = 0;
    for (int c = 0; c < static_cast<int>(p.size()); ++c) above += p[c] > p[label];
    figures.recall_at_1 += above == 0;
    figures.recall_at_3 += above < 3;
    figures.loss -= std::log(std::max<double>(p[label], kMinValidationProbability));
  }
  figures.loss /= examples.size();
  figures.recall_at_1 /= examples.size();
  figures.recall_at_3 /= examples.size();
  return figures;
}

TEST(ValidationTest, FiguresMatchThePlainForwardPass) {
  const ModelShape shape = testing::SyntheticShape();
  const ModelWeights weights = TrainedWeights(shape);
  const Examples held_out = testing::SyntheticExamples(shape, 150, 9);
  const absl::StatusOr<ValidationFigures> figures = Validate(weights, held_out);
  ASSERT_TRUE(figures.ok()) << figures.status();
  const ValidationFigures expected = Expected(weights, held_out);
  EXPECT_EQ(figures->examples, 150);
  EXPECT_NEAR(figures->loss, expected.loss, 1e-5);
  EXPECT_DOUBLE_EQ(figures->recall_at_1, expected.recall_at_1);
  EXPECT_DOUBLE_EQ(figures->recall_at_3, expected.recall_at_3);
  // Two epochs learn the task somewhat, and recall@3 contains recall@1.
  EXPECT_GT(figures->recall_at_1, 0.5);
  EXPECT_GE(figures->recall_at_3, figures->recall_at_1);
  EXPECT_LT(figures->loss, std::log(shape.num_classes));
}

TEST(ValidationTest, ConfidentMistakesCostAtMostTheClampedLog) {
  const ModelShape shape = testing::SyntheticShape();
  ModelWeights weights = TrainedWeights(shape);
  // Logits a thousand times larger: float32 softmax rounds the losers to 0.
  for (float& w : weights.output_kernel) w *= 1000;
  for (float& b : weights.output_bias) b *= 1000;
  const absl::StatusOr<ValidationFigures> figures =
      Validate(weights, testing::SyntheticExamples(shape, 150, 9));
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_TRUE(std::isfinite(figures->loss));
  EXPECT_GT(figures->loss, 0.1);  // there are mistakes
  // Each mistake costs -log(1e-7) = 16.1 at most, not the hundreds its
  // rounded probability would; the right ones cost almost nothing.
  EXPECT_LE(figures->loss,
            -std::log(kMinValidationProbability) * (1 - figures->recall_at_1) + 0.01);
}

TEST(ValidationTest, RefusesExamplesThatDoNotFit) {
  const ModelShape shape = testing::SyntheticShape();
  const ModelWeights weights = TrainedWeights(shape);
  EXPECT_TRUE(absl::IsInvalidArgument(Validate(weights, Examples{}).status()));
  Examples bad_label = testing::SyntheticExamples(shape, 5, 1);
  bad_label.labels[2] = shape.num_classes;
  EXPECT_TRUE(absl::IsInvalidArgument(Validate(weights, bad_label).status()));
  Examples extra_row = testing::SyntheticExamples(shape, 5, 1);
  extra_row.ids.resize(extra_row.ids.size() + shape.max_length, 0);
  EXPECT_TRUE(absl::IsInvalidArgument(Validate(weights, extra_row).status()));
  Examples bad_id = testing::SyntheticExamples(shape, 5, 1);
  bad_id.ids[3] = shape.vocab_size;
  EXPECT_TRUE(absl::IsInvalidArgument(Validate(weights, bad_id).status()));
}

}  // namespace
}  // namespace kiln::model
