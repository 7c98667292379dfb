// The classifier's forward pass written out plainly, independent of libtorch
// and TF.js: the yardstick both are measured against in the parity tests.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "services/model/model_weights.h"

namespace kiln::model::testing {

// Class probabilities for one sequence of max_length ids. Accumulates in
// double, so its own rounding error is far below the tolerances it checks.
std::vector<float> ReferenceForward(const ModelWeights& weights, absl::Span<const int32_t> ids);

}  // namespace kiln::model::testing
