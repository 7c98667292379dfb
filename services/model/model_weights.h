// The classifier's shape and weights in the layout TF.js (Keras) uses, with
// no libtorch in sight: the contract between the trainer, the bundle writer
// and reader, and inference.
//
//   Embedding(vocab_size, embedding_dim)            ids [batch, max_length]
//   GlobalAveragePooling1D | Flatten                 mean over all max_length
//                                                    positions, padding included
//   Dense(hidden_units, relu)
//   Dense(num_classes, softmax)
#pragma once

#include <vector>

#include "absl/status/status.h"

namespace kiln::model {

enum class Pooling { kGlobalAverage, kFlatten };

struct ModelShape {
  int vocab_size = 0;
  int max_length = 0;
  int embedding_dim = 0;
  int hidden_units = 0;
  int num_classes = 0;
  Pooling pooling = Pooling::kGlobalAverage;

  // Width of the pooled vector that feeds the hidden layer.
  int pooled_dim() const {
    return pooling == Pooling::kFlatten ? max_length * embedding_dim : embedding_dim;
  }
};

// Row-major float32 tensors, Keras layout (Dense kernels are [in, out]).
struct ModelWeights {
  ModelShape shape;
  std::vector<float> embedding;      // [vocab_size, embedding_dim]
  std::vector<float> hidden_kernel;  // [pooled_dim, hidden_units]
  std::vector<float> hidden_bias;    // [hidden_units]
  std::vector<float> output_kernel;  // [hidden_units, num_classes]
  std::vector<float> output_bias;    // [num_classes]

  // InvalidArgument naming the first tensor whose size does not match the
  // shape, or a shape field out of range.
  absl::Status Validate() const;
};

}  // namespace kiln::model
