// Forward and backward passes of the classifier over one batch, written out
// by hand: the model is a pooled embedding under a two-layer MLP, small
// enough that autograd's bookkeeping and a dense [vocab, dim] embedding
// gradient would cost more than the math itself.
#pragma once

#include <cstdint>
#include <vector>

#include "services/model/parameters.h"
#include "services/model/sparse_rows.h"

namespace kiln::model {

class BatchPass {
 public:
  // Runs the model on `rows` sequences of shape.max_length ids (each in
  // [0, vocab_size), unchecked) and keeps the activations for Backward.
  void Forward(const WeightsView& weights, const int32_t* ids, int64_t rows);

  // [rows, num_classes] pre-softmax outputs of the last Forward.
  const float* logits() const { return logits_.data(); }

  // Gradients of the loss, given its gradient `logits_gradient` with respect
  // to logits() and the same weights and ids as Forward: the dense layers'
  // into `dense_gradient` (DenseLayout of the shape, overwritten), the
  // embedding's as the touched rows into `embedding_gradient` (reset first).
  void Backward(const WeightsView& weights, const int32_t* ids, const float* logits_gradient,
                float* dense_gradient, SparseRows* embedding_gradient);

 private:
  int64_t rows_ = 0;
  std::vector<float> pooled_;           // [rows, pooled_dim]
  std::vector<float> hidden_;           // [rows, hidden_units], after relu
  std::vector<float> logits_;           // [rows, num_classes]
  std::vector<float> hidden_gradient_;  // [rows, hidden_units]
  std::vector<float> pooled_gradient_;  // [rows, pooled_dim]
  std::vector<float> transposed_kernel_;
};

}  // namespace kiln::model
