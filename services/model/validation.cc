#include "services/model/validation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/model/predict.h"

namespace kiln::model {

absl::StatusOr<ValidationFigures> Validate(const ModelWeights& weights, const Examples& examples) {
  if (examples.size() == 0) return absl::InvalidArgumentError("validation: no examples");
  const int classes = weights.shape.num_classes;
  for (int64_t i = 0; i < examples.size(); ++i) {
    if (examples.labels[i] < 0 || examples.labels[i] >= classes) {
      return absl::InvalidArgumentError(absl::StrCat("validation: label ", examples.labels[i],
                                                     " of example ", i, " is outside 0..",
                                                     classes - 1));
    }
  }
  absl::StatusOr<std::vector<float>> probabilities = Predict(weights, examples.ids);
  if (!probabilities.ok()) return probabilities.status();
  if (probabilities->size() != static_cast<size_t>(examples.size()) * classes) {
    return absl::InvalidArgumentError(absl::StrCat("validation: ", examples.ids.size(),
                                                   " ids for ", examples.size(), " labels"));
  }
  double loss_sum = 0;
  int64_t top1 = 0, top3 = 0;
  for (int64_t i = 0; i < examples.size(); ++i) {
    const float* p = probabilities->data() + i * classes;
    const int label = examples.labels[i];
    int rank = 0;  // classes ranked before the label
    for (int c = 0; c < classes; ++c) rank += p[c] > p[label] || (p[c] == p[label] && c < label);
    top1 += rank < 1;
    top3 += rank < 3;
    loss_sum -= std::log(std::max<double>(p[label], kMinValidationProbability));
  }
  ValidationFigures figures;
  figures.examples = examples.size();
  const double n = static_cast<double>(examples.size());
  figures.loss = loss_sum / n;
  figures.recall_at_1 = static_cast<double>(top1) / n;
  figures.recall_at_3 = static_cast<double>(top3) / n;
  return figures;
}

}  // namespace kiln::model
