// A model's figures on held-out examples after an epoch: what early stopping
// watches and what `kiln jobs watch` shows beside the training figures.
// Computed with Predict, the forward pass that scores shipped bundles, so
// whichever architecture Predict runs is the one validated.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "services/model/model_weights.h"
#include "services/model/trainer.h"

namespace kiln::model {

// The smallest probability the loss takes the log of, as Keras clips
// probabilities: a float32 softmax rounds a confident mistake to 0, whose
// log would make the mean infinite and every later epoch incomparable.
inline constexpr double kMinValidationProbability = 1e-7;

struct ValidationFigures {
  int64_t examples = 0;
  // Mean of -log(max(p(label), kMinValidationProbability)).
  double loss = 0;
  // Shares of examples whose label is the top class (the accuracy), or
  // among the top 3. Equal probabilities rank the lower class index first,
  // as the evaluation service ranks them.
  double recall_at_1 = 0;
  double recall_at_3 = 0;
};

// InvalidArgument for an empty set or examples that do not fit the weights.
absl::StatusOr<ValidationFigures> Validate(const ModelWeights& weights, const Examples& examples);

}  // namespace kiln::model
