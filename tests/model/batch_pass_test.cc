// The hand-written forward and backward passes against libtorch autograd on
// the same tiny model, for both poolings.
#include "services/model/batch_pass.h"

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "services/model/loss.h"
#include "services/model/parameters.h"
#include "services/text/tfidf.h"

namespace kiln::model {
namespace {

ModelShape TinyShape(Pooling pooling) {
  ModelShape shape;
  shape.vocab_size = 7;
  shape.max_length = 5;
  shape.embedding_dim = 3;
  shape.hidden_units = 6;
  shape.num_classes = 3;
  shape.pooling = pooling;
  return shape;
}

torch::Tensor Leaf(const float* data, std::vector<int64_t> sizes) {
  return torch::from_blob(const_cast<float*>(data), sizes, torch::kFloat)
      .clone()
      .set_requires_grad(true);
}

void ExpectNear(const torch::Tensor& expected, const float* actual, const char* what) {
  const torch::Tensor flat = expected.detach().contiguous().view(-1);
  for (int64_t i = 0; i < flat.numel(); ++i) {
    EXPECT_NEAR(flat[i].item<float>(), actual[i], 1e-5) << what << "[" << i << "]";
  }
}

class BatchPassTest : public ::testing::TestWithParam<Pooling> {};

TEST_P(BatchPassTest, MatchesAutograd) {
  const ModelShape shape = TinyShape(GetParam());
  const Parameters params = Parameters::Initial(shape, 7);
  // Repeated ids and padding (id 0, an ordinary row) on purpose.
  const std::vector<int32_t> ids = {3, 3, 5, 0, 0,  //
                                    1, 6, 2, 2, 2,  //
                                    4, 0, 0, 0, 0,  //
                                    5, 3, 1, 6, 0};
  const std::vector<int32_t> labels = {0, 2, 1, 2};
  const int64_t rows = 4;

  BatchPass pass;
  pass.Forward(params.view(), ids.data(), rows);
  std::vector<float> logits(pass.logits(), pass.logits() + rows * shape.num_classes);
  std::vector<float> logits_gradient(logits.size());
  const LossSums sums = SoftmaxCrossEntropy(logits.data(), labels.data(), rows, shape.num_classes,
                                            1.0f / rows, logits_gradient.data());
  std::vector<float> dense_gradient(params.layout.size);
  SparseRows embedding_gradient;
  pass.Backward(params.view(), ids.data(), logits_gradient.data(), dense_gradient.data(),
                &embedding_gradient);

  // The same model in autograd, in the Keras layout ([in, out] kernels).
  const WeightsView view = params.view();
  const int64_t pooled_dim = shape.pooled_dim();
  torch::Tensor embedding = Leaf(view.embedding, {shape.vocab_size, shape.embedding_dim});
  torch::Tensor hidden_kernel = Leaf(view.hidden_kernel, {pooled_dim, shape.hidden_units});
  torch::Tensor hidden_bias = Leaf(view.hidden_bias, {shape.hidden_units});
  torch::Tensor output_kernel = Leaf(view.output_kernel, {shape.hidden_units, shape.num_classes});
  torch::Tensor output_bias = Leaf(view.output_bias, {shape.num_classes});
  const torch::Tensor id_tensor =
      torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).view({rows, shape.max_length});
  const torch::Tensor embedded = embedding.index_select(0, id_tensor.view(-1))
                                     .view({rows, shape.max_length, shape.embedding_dim});
  const torch::Tensor pooled =
      GetParam() == Pooling::kFlatten ? embedded.flatten(1) : embedded.mean(1);
  const torch::Tensor hidden = (pooled.mm(hidden_kernel) + hidden_bias).relu();
  const torch::Tensor expected_logits = hidden.mm(output_kernel) + output_bias;
  const torch::Tensor label_tensor =
      torch::tensor(std::vector<int64_t>(labels.begin(), labels.end()));
  const torch::Tensor loss = at::nll_loss(expected_logits.log_softmax(1), label_tensor);
  loss.backward();

  ExpectNear(expected_logits, logits.data(), "logits");
  EXPECT_NEAR(loss.item<float>(), sums.loss / rows, 1e-5);
  const DenseLayout layout = params.layout;
  ExpectNear(hidden_kernel.grad(), dense_gradient.data() + layout.hidden_kernel, "d hidden kernel");
  ExpectNear(hidden_bias.grad(), dense_gradient.data() + layout.hidden_bias, "d hidden bias");
  ExpectNear(output_kernel.grad(), dense_gradient.data() + layout.output_kernel, "d output kernel");
  ExpectNear(output_bias.grad(), dense_gradient.data() + layout.output_bias, "d output bias");

  // Spread back into a dense table, the sparse rows are autograd's gradient.
  std::vector<float> dense_embedding_gradient(params.embedding.size(), 0.0f);
  const std::vector<int32_t>& touched = embedding_gradient.ids();
  for (size_t i = 0; i < touched.size(); ++i) {
    for (int d = 0; d < shape.embedding_dim; ++d) {
      dense_embedding_gradient[touched[i] * shape.embedding_dim + d] =
          embedding_gradient.values()[i * shape.embedding_dim + d];
    }
  }
  ExpectNear(embedding.grad(), dense_embedding_gradient.data(), "d embedding");
  EXPECT_EQ(touched.size(), 7u);  // every id 0..6 occurs above
}

INSTANTIATE_TEST_SUITE_P(BothPoolings, BatchPassTest,
                         ::testing::Values(Pooling::kGlobalAverage, Pooling::kFlatten));

// tfidf with dropout: the TF-IDF matrix times the table, + bias, relu, the
// dropout factors, the output layer.
TEST(BatchPassTest, TfidfWithDropoutMatchesAutograd) {
  ModelShape shape = TinyShape(Pooling::kGlobalAverage);
  shape.architecture = Architecture::kTfidf;
  shape.embedding_dim = shape.hidden_units;
  shape.dropout = 0.5f;
  Parameters params = Parameters::Initial(shape, 7);
  params.idf = {0.0f, 0.0f, 1.5f, 2.0f, 1.25f, 1.0f, 3.0f};
  // Repeated ids, padding, <oov> (id 1), and a post with no word at all.
  const std::vector<int32_t> ids = {3, 3, 5, 0, 0,  //
                                    1, 6, 2, 2, 2,  //
                                    1, 0, 0, 0, 0,  //
                                    5, 3, 1, 6, 4};
  const std::vector<int32_t> labels = {0, 2, 1, 2};
  const int64_t rows = 4;
  std::vector<float> dropout(rows * shape.hidden_units);
  for (size_t i = 0; i < dropout.size(); ++i) dropout[i] = i % 3 == 0 ? 0.0f : 2.0f;

  BatchPass pass;
  pass.Forward(params.view(), ids.data(), rows, dropout.data());
  std::vector<float> logits(pass.logits(), pass.logits() + rows * shape.num_classes);
  std::vector<float> logits_gradient(logits.size());
  SoftmaxCrossEntropy(logits.data(), labels.data(), rows, shape.num_classes, 1.0f / rows,
                      logits_gradient.data());
  std::vector<float> dense_gradient(params.layout.size);
  SparseRows table_gradient;
  pass.Backward(params.view(), ids.data(), logits_gradient.data(), dense_gradient.data(),
                &table_gradient);
  EXPECT_EQ(params.layout.hidden_bias, 0);  // no hidden kernel

  std::vector<float> features(rows * shape.vocab_size, 0.0f);
  std::vector<int32_t> scratch;
  text::SparseFeatures sparse;
  for (int64_t r = 0; r < rows; ++r) {
    text::TfidfFeatures(absl::MakeConstSpan(ids.data() + r * shape.max_length, shape.max_length),
                        params.idf, &scratch, &sparse);
    for (size_t f = 0; f < sparse.ids.size(); ++f) {
      features[r * shape.vocab_size + sparse.ids[f]] = sparse.values[f];
    }
  }
  const WeightsView view = params.view();
  torch::Tensor table = Leaf(view.embedding, {shape.vocab_size, shape.hidden_units});
  torch::Tensor hidden_bias = Leaf(view.hidden_bias, {shape.hidden_units});
  torch::Tensor output_kernel = Leaf(view.output_kernel, {shape.hidden_units, shape.num_classes});
  torch::Tensor output_bias = Leaf(view.output_bias, {shape.num_classes});
  const torch::Tensor x =
      torch::from_blob(features.data(), {rows, shape.vocab_size}, torch::kFloat).clone();
  const torch::Tensor mask =
      torch::from_blob(dropout.data(), {rows, shape.hidden_units}, torch::kFloat).clone();
  const torch::Tensor hidden = (x.mm(table) + hidden_bias).relu() * mask;
  const torch::Tensor expected_logits = hidden.mm(output_kernel) + output_bias;
  const torch::Tensor label_tensor =
      torch::tensor(std::vector<int64_t>(labels.begin(), labels.end()));
  at::nll_loss(expected_logits.log_softmax(1), label_tensor).backward();

  ExpectNear(expected_logits, logits.data(), "logits");
  const DenseLayout layout = params.layout;
  ExpectNear(hidden_bias.grad(), dense_gradient.data() + layout.hidden_bias, "d hidden bias");
  ExpectNear(output_kernel.grad(), dense_gradient.data() + layout.output_kernel, "d output kernel");
  ExpectNear(output_bias.grad(), dense_gradient.data() + layout.output_bias, "d output bias");
  std::vector<float> dense_table_gradient(params.embedding.size(), 0.0f);
  const std::vector<int32_t>& touched = table_gradient.ids();
  for (size_t i = 0; i < touched.size(); ++i) {
    for (int d = 0; d < shape.hidden_units; ++d) {
      dense_table_gradient[touched[i] * shape.hidden_units + d] =
          table_gradient.values()[i * shape.hidden_units + d];
    }
  }
  ExpectNear(table.grad(), dense_table_gradient.data(), "d table");
  // Only word rows are touched: not padding (0), not <oov> (1).
  EXPECT_EQ(std::vector<int32_t>(touched.begin(), touched.end()).size(), 5u);
  for (int32_t id : touched) EXPECT_GE(id, 2);
}

TEST(BatchPassTest, EmptyBatchGivesZeroGradients) {
  const ModelShape shape = TinyShape(Pooling::kGlobalAverage);
  const Parameters params = Parameters::Initial(shape, 1);
  BatchPass pass;
  pass.Forward(params.view(), nullptr, 0);
  std::vector<float> dense_gradient(params.layout.size, 1.0f);
  SparseRows embedding_gradient;
  pass.Backward(params.view(), nullptr, nullptr, dense_gradient.data(), &embedding_gradient);
  for (float value : dense_gradient) EXPECT_EQ(value, 0.0f);
  EXPECT_TRUE(embedding_gradient.ids().empty());
}

}  // namespace
}  // namespace kiln::model
