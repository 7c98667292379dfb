#include "services/model/predict.h"

#include <algorithm>
#include <exception>

#include "absl/strings/str_cat.h"
#include "services/model/batch_pass.h"
#include "services/model/loss.h"
#include "services/model/parameters.h"

namespace kiln::model {
namespace {

// Rows per forward pass: bounds the activations' memory (a flattened
// sequence is max_length * embedding_dim floats) whatever n is.
constexpr int64_t kChunkRows = 256;

}  // namespace

absl::StatusOr<std::vector<float>> Predict(const ModelWeights& weights,
                                           absl::Span<const int32_t> ids) {
  if (absl::Status status = weights.Validate(); !status.ok()) return status;
  const ModelShape& shape = weights.shape;
  if (absl::Status status = ValidateShape(shape); !status.ok()) return status;
  if (ids.size() % static_cast<size_t>(shape.max_length) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "predict: ", ids.size(), " ids is not a whole number of sequences of ", shape.max_length));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= shape.vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("predict: id ", ids[i], " in sequence ", i / shape.max_length,
                       " is outside the vocabulary 0..", shape.vocab_size - 1));
    }
  }
  const int64_t rows = static_cast<int64_t>(ids.size()) / shape.max_length;
  const int classes = shape.num_classes;
  try {
    std::vector<float> probabilities(static_cast<size_t>(rows * classes));
    const WeightsView view = ViewOf(weights);
    BatchPass pass;
    for (int64_t begin = 0; begin < rows; begin += kChunkRows) {
      const int64_t count = std::min(kChunkRows, rows - begin);
      pass.Forward(view, ids.data() + begin * shape.max_length, count);
      float* out = probabilities.data() + begin * classes;
      std::copy_n(pass.logits(), count * classes, out);
      SoftmaxRows(out, count, classes);
    }
    return probabilities;
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("predict: ", error.what()));
  }
}

}  // namespace kiln::model
