#include "services/model/padding_fold.h"

#include <vector>

namespace kiln::model {

ModelWeights FoldPaddingRow(const ModelWeights& weights) {
  ModelWeights folded = weights;
  const ModelShape& shape = weights.shape;
  const int dim = shape.embedding_dim;
  const std::vector<float> padding(weights.embedding.begin(), weights.embedding.begin() + dim);
  for (size_t i = 0; i < folded.embedding.size(); ++i) folded.embedding[i] -= padding[i % dim];
  // Average pooling feeds the kernel's D rows once; Flatten feeds each of
  // its max_length blocks of D rows.
  const int blocks = shape.pooling == Pooling::kFlatten ? shape.max_length : 1;
  for (int unit = 0; unit < shape.hidden_units; ++unit) {
    double shift = 0;
    for (int block = 0; block < blocks; ++block) {
      for (int d = 0; d < dim; ++d) {
        shift += static_cast<double>(padding[d]) *
                 weights.hidden_kernel[static_cast<size_t>(block * dim + d) * shape.hidden_units + unit];
      }
    }
    folded.hidden_bias[unit] = static_cast<float>(weights.hidden_bias[unit] + shift);
  }
  return folded;
}

}  // namespace kiln::model
