#include "services/model/model_weights.h"

#include "absl/strings/str_cat.h"

namespace kiln::model {
namespace {

absl::Status CheckSize(const char* name, const std::vector<float>& tensor, int64_t expected) {
  if (static_cast<int64_t>(tensor.size()) != expected) {
    return absl::InvalidArgumentError(absl::StrCat("weights: ", name, " holds ", tensor.size(),
                                                   " values, the shape needs ", expected));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ModelWeights::Validate() const {
  if (shape.vocab_size < 2 || shape.max_length < 1 || shape.embedding_dim < 1 ||
      shape.hidden_units < 1 || shape.num_classes < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model shape out of range: vocab_size ", shape.vocab_size, " (>= 2), max_length ",
        shape.max_length, " (>= 1), embedding_dim ", shape.embedding_dim, " (>= 1), hidden_units ",
        shape.hidden_units, " (>= 1), num_classes ", shape.num_classes, " (>= 2)"));
  }
  if (absl::Status s = CheckSize("embedding", embedding,
                                 int64_t{shape.vocab_size} * shape.embedding_dim);
      !s.ok())
    return s;
  if (shape.tfidf() && shape.embedding_dim != shape.hidden_units) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model shape: a tfidf model's first kernel is [vocab_size, hidden_units], but "
        "embedding_dim is ", shape.embedding_dim, " and hidden_units ", shape.hidden_units));
  }
  if (absl::Status s = CheckSize("idf", idf, shape.tfidf() ? shape.vocab_size : 0); !s.ok())
    return s;
  if (absl::Status s = CheckSize("hidden_kernel", hidden_kernel, shape.hidden_kernel_size());
      !s.ok())
    return s;
  if (absl::Status s = CheckSize("hidden_bias", hidden_bias, shape.hidden_units); !s.ok()) return s;
  if (absl::Status s = CheckSize("output_kernel", output_kernel,
                                 int64_t{shape.hidden_units} * shape.num_classes);
      !s.ok())
    return s;
  return CheckSize("output_bias", output_bias, shape.num_classes);
}

}  // namespace kiln::model
