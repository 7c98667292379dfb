// The figures of an evaluation report, from predicted probabilities and
// true labels: recall@k (the article's metric), accuracy, per-class
// precision/recall/F1 and the confusion matrix.
#pragma once

#include <string>
#include <vector>

#include "absl/types/span.h"
#include "kiln/v1/evaluation.pb.h"

namespace kiln::evaluation {

// Accumulates predictions batch by batch.
class MetricsAccumulator {
 public:
  explicit MetricsAccumulator(std::vector<std::string> classes);

  // `probabilities` is [n, classes] row-major, `labels` holds n class indices.
  void Add(absl::Span<const float> probabilities, absl::Span<const int32_t> labels);

  // Fills post_count, recall_at_1/3/5, accuracy, classes, confusion_matrix.
  void Fill(kiln::v1::EvaluationReport& report) const;

 private:
  std::vector<std::string> classes_;
  int64_t posts_ = 0;
  int64_t hits_at_[6] = {0, 0, 0, 0, 0, 0};  // index k = 1, 3, 5 used
  std::vector<int64_t> confusion_;           // [true, predicted]
};

}  // namespace kiln::evaluation
