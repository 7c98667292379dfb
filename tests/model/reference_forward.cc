#include "tests/model/reference_forward.h"

#include <algorithm>
#include <cmath>

#include "services/text/tfidf.h"

namespace kiln::model::testing {

std::vector<float> ReferenceForward(const ModelWeights& weights, absl::Span<const int32_t> ids) {
  const ModelShape& shape = weights.shape;
  const int dim = shape.embedding_dim;
  // GlobalAveragePooling1D averages every position, padding included
  // (docs: DESIGN.md, Formats); Flatten concatenates them.
  std::vector<double> pooled(shape.pooled_dim(), 0.0);
  if (shape.tfidf()) {
    // The TF-IDF vector times the first kernel (held as the table).
    std::vector<int32_t> scratch;
    text::SparseFeatures features;
    text::TfidfFeatures(ids.subspan(0, shape.max_length), weights.idf, &scratch, &features);
    for (size_t f = 0; f < features.ids.size(); ++f) {
      const float* row = &weights.embedding[static_cast<size_t>(features.ids[f]) * dim];
      for (int d = 0; d < dim; ++d) pooled[d] += double{features.values[f]} * row[d];
    }
  }
  for (int position = 0; !shape.tfidf() && position < shape.max_length; ++position) {
    const float* row = &weights.embedding[static_cast<size_t>(ids[position]) * dim];
    const int offset = shape.pooling == Pooling::kFlatten ? position * dim : 0;
    for (int d = 0; d < dim; ++d) pooled[offset + d] += row[d];
  }
  if (shape.pooling == Pooling::kGlobalAverage) {
    for (double& value : pooled) value /= shape.max_length;
  }

  std::vector<double> hidden(shape.hidden_units);
  for (int h = 0; h < shape.hidden_units; ++h) {
    double sum = weights.hidden_bias[h] + (shape.tfidf() ? pooled[h] : 0.0);
    for (size_t i = 0; !shape.tfidf() && i < pooled.size(); ++i) {
      sum += pooled[i] * weights.hidden_kernel[i * shape.hidden_units + h];
    }
    hidden[h] = std::max(sum, 0.0);
  }

  std::vector<double> logits(shape.num_classes);
  for (int c = 0; c < shape.num_classes; ++c) {
    double sum = weights.output_bias[c];
    for (int h = 0; h < shape.hidden_units; ++h) {
      sum += hidden[h] * weights.output_kernel[static_cast<size_t>(h) * shape.num_classes + c];
    }
    logits[c] = sum;
  }
  const double top = *std::max_element(logits.begin(), logits.end());
  double total = 0.0;
  for (double& logit : logits) total += (logit = std::exp(logit - top));
  std::vector<float> probabilities(shape.num_classes);
  for (int c = 0; c < shape.num_classes; ++c)
    probabilities[c] = static_cast<float>(logits[c] / total);
  return probabilities;
}

}  // namespace kiln::model::testing
