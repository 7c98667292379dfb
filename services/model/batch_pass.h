// Forward and backward passes of the classifier over one batch, written out
// by hand: the model is a pooled embedding (or a TF-IDF-weighted sum of
// table rows) under a two-layer MLP, small enough that autograd's
// bookkeeping and a dense [vocab, dim] table gradient would cost more than
// the math itself.
#pragma once

#include <cstdint>
#include <vector>

#include "services/model/parameters.h"
#include "services/model/sparse_rows.h"
#include "services/text/tfidf.h"

namespace kiln::model {

// TF-IDF features of a set of sequences: row r's are ids and values in
// [offsets[r], offsets[r + 1]).
struct FeatureRows {
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> ids;
  std::vector<float> values;

  int64_t size() const { return static_cast<int64_t>(offsets.size()) - 1; }
  void Clear();
  void Append(const text::SparseFeatures& features);
  // Row `row` of `other`.
  void AppendRow(const FeatureRows& other, int64_t row);
};

// The features of `rows` sequences of shape.max_length ids, with the idf
// of `weights`.
FeatureRows ComputeFeatures(const WeightsView& weights, const int32_t* ids, int64_t rows);

class BatchPass {
 public:
  // Runs the model on `rows` sequences of shape.max_length ids (each in
  // [0, vocab_size), unchecked) and keeps the activations for Backward.
  // `dropout_scale`, when given, holds [rows, hidden_units] factors (0 or
  // 1 / (1 - rate)) applied to the hidden layer's output: training only.
  // A tfidf model may be given its rows' `features` instead (`ids` is then
  // unused): a trainer computes them once, not every epoch. They must stay
  // alive until Backward.
  void Forward(const WeightsView& weights, const int32_t* ids, int64_t rows,
               const float* dropout_scale = nullptr, const FeatureRows* features = nullptr);

  // [rows, num_classes] pre-softmax outputs of the last Forward.
  const float* logits() const { return logits_.data(); }

  // Gradients of the loss, given its gradient `logits_gradient` with respect
  // to logits() and the same weights and ids as Forward: the dense layers'
  // into `dense_gradient` (DenseLayout of the shape, overwritten), the
  // embedding's as the touched rows into `embedding_gradient` (reset first).
  void Backward(const WeightsView& weights, const int32_t* ids, const float* logits_gradient,
                float* dense_gradient, SparseRows* embedding_gradient);

 private:
  // The article's pooled embedding of each sequence.
  void PoolEmbedding(const WeightsView& weights, const int32_t* ids);
  // The weighted sum of table rows that feeds a tfidf model's hidden layer.
  void PoolTfidf(const WeightsView& weights);

  int64_t rows_ = 0;
  const float* dropout_scale_ = nullptr;
  // tfidf: the rows' features, given to Forward or computed into own_features_.
  const FeatureRows* features_ = nullptr;
  FeatureRows own_features_;
  std::vector<float> pooled_;           // [rows, pooled_dim]
  std::vector<float> hidden_;           // [rows, hidden_units], after relu
  std::vector<float> logits_;           // [rows, num_classes]
  std::vector<float> hidden_gradient_;  // [rows, hidden_units]
  std::vector<float> pooled_gradient_;  // [rows, pooled_dim]
  std::vector<float> transposed_kernel_;
};

}  // namespace kiln::model
