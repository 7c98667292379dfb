// Inference against a forward pass written out in double precision from the
// Keras semantics of ModelWeights (Dense kernels [in, out], average over all
// positions including padding), and the weights' round trip through a
// trainer.
#include "services/model/predict.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "services/model/parameters.h"
#include "services/model/trainer.h"
#include "synthetic_data.h"

namespace kiln::model {
namespace {

std::vector<double> ReferenceProbabilities(const ModelWeights& w, const int32_t* ids) {
  const ModelShape& s = w.shape;
  std::vector<double> pooled(s.pooled_dim(), 0.0);
  for (int p = 0; p < s.max_length; ++p) {
    for (int d = 0; d < s.embedding_dim; ++d) {
      const double value = w.embedding[ids[p] * s.embedding_dim + d];
      if (s.pooling == Pooling::kFlatten) {
        pooled[p * s.embedding_dim + d] = value;
      } else {
        pooled[d] += value / s.max_length;
      }
    }
  }
  std::vector<double> hidden(s.hidden_units);
  for (int h = 0; h < s.hidden_units; ++h) {
    double sum = w.hidden_bias[h];
    for (int i = 0; i < s.pooled_dim(); ++i)
      sum += pooled[i] * w.hidden_kernel[i * s.hidden_units + h];
    hidden[h] = std::max(sum, 0.0);
  }
  std::vector<double> probabilities(s.num_classes);
  double total = 0;
  for (int c = 0; c < s.num_classes; ++c) {
    double sum = w.output_bias[c];
    for (int h = 0; h < s.hidden_units; ++h)
      sum += hidden[h] * w.output_kernel[h * s.num_classes + c];
    probabilities[c] = std::exp(sum);
    total += probabilities[c];
  }
  for (double& p : probabilities) p /= total;
  return probabilities;
}

class PredictTest : public ::testing::TestWithParam<Pooling> {};

TEST_P(PredictTest, MatchesTheKerasSemantics) {
  const ModelShape shape = testing::SyntheticShape(GetParam());
  const ModelWeights weights = Parameters::Initial(shape, 3).ToWeights();
  const Examples examples = testing::SyntheticExamples(shape, 20, 5);
  const absl::StatusOr<std::vector<float>> probabilities = Predict(weights, examples.ids);
  ASSERT_TRUE(probabilities.ok()) << probabilities.status();
  ASSERT_EQ(probabilities->size(), 20u * shape.num_classes);
  for (int64_t i = 0; i < examples.size(); ++i) {
    const std::vector<double> expected =
        ReferenceProbabilities(weights, examples.ids.data() + i * shape.max_length);
    for (int c = 0; c < shape.num_classes; ++c) {
      EXPECT_NEAR((*probabilities)[i * shape.num_classes + c], expected[c], 1e-5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BothPoolings, PredictTest,
                         ::testing::Values(Pooling::kGlobalAverage, Pooling::kFlatten));

// tfidf: Dense(relu) over the TF-IDF vector, written out densely in double.
TEST(PredictTest, TfidfMatchesADenseForwardPass) {
  const ModelShape shape = testing::SyntheticTfidfShape();
  const Examples train = testing::SyntheticExamples(shape, 200, 1);
  TrainingOptions options;
  options.epochs = 2;
  options.batch_size = 16;
  auto trainer = Trainer::Create(shape, options, train).value();
  while (!trainer->done()) ASSERT_TRUE(trainer->RunEpoch().ok());
  const ModelWeights weights = trainer->ExportWeights();
  const Examples examples = testing::SyntheticExamples(shape, 20, 5);
  const std::vector<float> probabilities = Predict(weights, examples.ids).value();
  for (int64_t i = 0; i < examples.size(); ++i) {
    const int32_t* ids = examples.ids.data() + i * shape.max_length;
    // (1 + ln count) * idf over the word ids, L2-normalised.
    std::vector<double> x(shape.vocab_size, 0.0);
    for (int p = 0; p < shape.max_length; ++p) {
      if (ids[p] >= 2) x[ids[p]] += 1;
    }
    double norm = 0;
    for (int j = 0; j < shape.vocab_size; ++j) {
      if (x[j] > 0) x[j] = (1 + std::log(x[j])) * weights.idf[j];
      norm += x[j] * x[j];
    }
    std::vector<double> hidden(shape.hidden_units);
    for (int h = 0; h < shape.hidden_units; ++h) {
      double sum = weights.hidden_bias[h];
      for (int j = 0; j < shape.vocab_size; ++j) {
        sum += x[j] / std::sqrt(norm) * weights.embedding[j * shape.hidden_units + h];
      }
      hidden[h] = std::max(sum, 0.0);  // dropout is training-only
    }
    std::vector<double> expected(shape.num_classes);
    double total = 0;
    for (int c = 0; c < shape.num_classes; ++c) {
      double sum = weights.output_bias[c];
      for (int h = 0; h < shape.hidden_units; ++h) {
        sum += hidden[h] * weights.output_kernel[h * shape.num_classes + c];
      }
      total += expected[c] = std::exp(sum);
    }
    for (int c = 0; c < shape.num_classes; ++c) {
      EXPECT_NEAR(probabilities[i * shape.num_classes + c], expected[c] / total, 1e-5);
    }
  }
}

TEST(PredictTest, PaddingEntersTheAverage) {
  const ModelShape shape = testing::SyntheticShape();
  ModelWeights weights = Parameters::Initial(shape, 3).ToWeights();
  std::vector<int32_t> ids(shape.max_length, 0);
  ids[0] = 12;
  const std::vector<float> before = Predict(weights, ids).value();
  // Only the padding row changes: a masked average would not notice.
  for (int d = 0; d < shape.embedding_dim; ++d) weights.embedding[d] += 1.0f;
  const std::vector<float> after = Predict(weights, ids).value();
  const std::vector<double> expected = ReferenceProbabilities(weights, ids.data());
  bool changed = false;
  for (int c = 0; c < shape.num_classes; ++c) {
    changed |= std::abs(before[c] - after[c]) > 1e-4;
    EXPECT_NEAR(after[c], expected[c], 1e-5);
  }
  EXPECT_TRUE(changed);
}

TEST(PredictTest, RejectsBadInput) {
  const ModelShape shape = testing::SyntheticShape();
  ModelWeights weights = Parameters::Initial(shape, 3).ToWeights();
  std::vector<int32_t> ids(shape.max_length + 1, 0);
  EXPECT_TRUE(absl::IsInvalidArgument(Predict(weights, ids).status()));
  ids.resize(shape.max_length);
  ids[3] = shape.vocab_size;
  EXPECT_TRUE(absl::IsInvalidArgument(Predict(weights, ids).status()));
  ids[3] = 0;
  weights.output_bias.pop_back();
  EXPECT_TRUE(absl::IsInvalidArgument(Predict(weights, ids).status()));
}

TEST(PredictTest, ExportedWeightsImportIntoAnotherTrainer) {
  const ModelShape shape = testing::SyntheticShape();
  const Examples examples = testing::SyntheticExamples(shape, 200, 1);
  TrainingOptions options;
  options.epochs = 2;
  options.batch_size = 16;
  options.learning_rate = 0.01f;
  auto trained = Trainer::Create(shape, options, examples).value();
  ASSERT_TRUE(trained->RunEpoch().ok());
  const ModelWeights exported = trained->ExportWeights();
  ASSERT_TRUE(exported.Validate().ok());

  options.seed = 99;  // different initial weights, replaced by the import
  auto other = Trainer::Create(shape, options, examples).value();
  ASSERT_TRUE(other->ImportWeights(exported).ok());
  const ModelWeights reexported = other->ExportWeights();
  EXPECT_EQ(reexported.embedding, exported.embedding);
  EXPECT_EQ(reexported.hidden_kernel, exported.hidden_kernel);
  EXPECT_EQ(reexported.hidden_bias, exported.hidden_bias);
  EXPECT_EQ(reexported.output_kernel, exported.output_kernel);
  EXPECT_EQ(reexported.output_bias, exported.output_bias);
  EXPECT_EQ(Predict(reexported, examples.ids).value(), Predict(exported, examples.ids).value());

  ModelWeights wrong_shape = exported;
  wrong_shape.shape.num_classes = 5;
  wrong_shape.output_kernel.resize(shape.hidden_units * 5);
  wrong_shape.output_bias.resize(5);
  EXPECT_TRUE(absl::IsInvalidArgument(other->ImportWeights(wrong_shape)));
}

}  // namespace
}  // namespace kiln::model
