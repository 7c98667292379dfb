// The classifier's trainable state as the training loop holds it, and a
// read-only view shared with inference.
//
// Everything stays in the Keras layout of ModelWeights (Dense kernels are
// [in, out]), so export and import are plain copies: there is no torch
// nn.Linear [out, in] layout anywhere to transpose from.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "services/model/model_weights.h"

namespace kiln::model {

// InvalidArgument naming the field when a shape is out of the range the
// trainer supports (the ranges of ModelWeights::Validate, and tables small
// enough to index with 32-bit ids).
absl::Status ValidateShape(const ModelShape& shape);

bool SameShape(const ModelShape& a, const ModelShape& b);

// Where each dense tensor sits in one flat buffer: the dense layers'
// parameters, gradients and Adam moments are each one contiguous block, so
// a step all-reduces them with a single call.
struct DenseLayout {
  int64_t hidden_kernel = 0;  // [pooled_dim, hidden_units]
  int64_t hidden_bias = 0;    // [hidden_units]
  int64_t output_kernel = 0;  // [hidden_units, num_classes]
  int64_t output_bias = 0;    // [num_classes]
  int64_t size = 0;

  static DenseLayout For(const ModelShape& shape);
};

// Raw pointers to a complete set of weights, wherever they live.
struct WeightsView {
  ModelShape shape;
  const float* embedding = nullptr;
  const float* hidden_kernel = nullptr;
  const float* hidden_bias = nullptr;
  const float* output_kernel = nullptr;
  const float* output_bias = nullptr;
  const float* idf = nullptr;  // [vocab_size], tfidf only
};

// The view of a validated ModelWeights; it must outlive the view.
WeightsView ViewOf(const ModelWeights& weights);

struct Parameters {
  ModelShape shape;
  DenseLayout layout;
  std::vector<float> embedding;  // [vocab_size, embedding_dim]
  std::vector<float> dense;      // laid out by `layout`
  std::vector<float> idf;        // tfidf only: fixed, not trained

  // Baseline (torch default) initialisation: embedding ~ N(0, 1), Dense
  // kernels and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the
  // baseline's hyperparameters were tuned with it. tfidf: table
  // ~ N(0, 0.01^2), hidden bias 0, output layer as above; `idf` is left
  // empty for the caller.
  static Parameters Initial(const ModelShape& shape, uint64_t seed);
  // Copies validated weights in.
  static Parameters FromWeights(const ModelWeights& weights);

  ModelWeights ToWeights() const;
  WeightsView view() const;
};

}  // namespace kiln::model
