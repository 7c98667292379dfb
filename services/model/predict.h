// Inference: class probabilities of encoded sequences, computed in float32
// in the order of a plain forward pass (x @ kernel + bias, relu, softmax),
// as TF.js computes them in the browser.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/model/model_weights.h"

namespace kiln::model {

// `ids` holds n sequences of weights.shape.max_length ids; returns
// [n, num_classes] probabilities, row-major. InvalidArgument for invalid
// weights, a ragged `ids` or an id outside the vocabulary.
absl::StatusOr<std::vector<float>> Predict(const ModelWeights& weights,
                                           absl::Span<const int32_t> ids);

}  // namespace kiln::model
