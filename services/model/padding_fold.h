// The form in which weights ship: the embedding's padding row folded into
// the hidden layer's bias. Every embedding row minus the padding row p, and
// bias + (p summed over the pooled positions) @ kernel: the same function up
// to float rounding, but the row that padded positions read becomes 0,
// which every weight encoding keeps exact. Posts are mostly padding, so a
// quantized padding row would otherwise shift every post's pooled vector
// the same way and flip the top topic of close calls.
#pragma once

#include "services/model/model_weights.h"

namespace kiln::model {

ModelWeights FoldPaddingRow(const ModelWeights& weights);

}  // namespace kiln::model
