// The classifier's shape and weights in the layout TF.js (Keras) uses, with
// no libtorch in sight: the contract between the trainer, the bundle writer
// and reader, and inference. Two architectures:
//
// article (the seed article's model):
//   Embedding(vocab_size, embedding_dim)            ids [batch, max_length]
//   GlobalAveragePooling1D | Flatten                 mean over all max_length
//                                                    positions, padding included
//   Dense(hidden_units, relu)
//   [Dropout(dropout)]
//   Dense(num_classes, softmax)
//
// tfidf (a bag of words):
//   the TF-IDF vector of the ids (services/text/tfidf.h) [batch, vocab_size]
//   Dense(hidden_units, relu)                        kernel = `embedding`
//   [Dropout(dropout)]
//   Dense(num_classes, softmax)
//
// The tfidf model's first kernel is held as the embedding table
// [vocab_size, hidden_units] (embedding_dim == hidden_units): multiplying a
// sparse vector by it is a weighted sum of its rows, so training updates only
// the rows a batch touches, as for the article's embedding. It has no
// hidden_kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace kiln::model {

enum class Architecture { kArticle, kTfidf };
enum class Pooling { kGlobalAverage, kFlatten };

struct ModelShape {
  int vocab_size = 0;
  int max_length = 0;
  int embedding_dim = 0;
  int hidden_units = 0;
  int num_classes = 0;
  Pooling pooling = Pooling::kGlobalAverage;  // article only
  Architecture architecture = Architecture::kArticle;
  // Training-time dropout after the hidden layer, [0, 0.9]; the topology
  // records it, inference ignores it.
  float dropout = 0;

  bool tfidf() const { return architecture == Architecture::kTfidf; }
  // Width of the pooled vector that feeds the hidden layer.
  int pooled_dim() const {
    return !tfidf() && pooling == Pooling::kFlatten ? max_length * embedding_dim : embedding_dim;
  }
  // Values of the hidden kernel (none for tfidf).
  int64_t hidden_kernel_size() const {
    return tfidf() ? 0 : int64_t{pooled_dim()} * hidden_units;
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
  // tfidf only: the inverse document frequencies [vocab_size], fixed from
  // the training split (services/text/tfidf.h); empty for article.
  std::vector<float> idf;

  // InvalidArgument naming the first tensor whose size does not match the
  // shape, or a shape field out of range.
  absl::Status Validate() const;
};

}  // namespace kiln::model
