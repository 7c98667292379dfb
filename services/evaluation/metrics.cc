#include "services/evaluation/metrics.h"

#include <algorithm>
#include <numeric>

namespace kiln::evaluation {

MetricsAccumulator::MetricsAccumulator(std::vector<std::string> classes)
    : classes_(std::move(classes)), confusion_(classes_.size() * classes_.size(), 0) {}

void MetricsAccumulator::Add(absl::Span<const float> probabilities,
                             absl::Span<const int32_t> labels) {
  const size_t n = classes_.size();
  std::vector<int> order(n);
  for (size_t row = 0; row < labels.size(); ++row) {
    const float* p = probabilities.data() + row * n;
    std::iota(order.begin(), order.end(), 0);
    // Highest probability first; ties go to the lower class index, as a
    // stable sort in the browser would.
    std::stable_sort(order.begin(), order.end(), [p](int a, int b) { return p[a] > p[b]; });
    const int truth = labels[row];
    const size_t rank = std::find(order.begin(), order.end(), truth) - order.begin();
    for (int k : {1, 3, 5}) {
      if (rank < static_cast<size_t>(k)) ++hits_at_[k];
    }
    ++confusion_[truth * n + order[0]];
    ++posts_;
  }
}

void MetricsAccumulator::Fill(kiln::v1::EvaluationReport& report) const {
  const size_t n = classes_.size();
  const double posts = static_cast<double>(std::max<int64_t>(posts_, 1));
  report.set_post_count(posts_);
  report.set_recall_at_1(hits_at_[1] / posts);
  report.set_recall_at_3(hits_at_[3] / posts);
  report.set_recall_at_5(hits_at_[5] / posts);
  report.set_accuracy(hits_at_[1] / posts);
  report.clear_classes();
  for (size_t c = 0; c < n; ++c) {
    int64_t true_positive = confusion_[c * n + c], predicted = 0, support = 0;
    for (size_t other = 0; other < n; ++other) {
      predicted += confusion_[other * n + c];
      support += confusion_[c * n + other];
    }
    auto* metrics = report.add_classes();
    metrics->set_category(classes_[c]);
    metrics->set_support(support);
    const double precision = predicted ? double(true_positive) / double(predicted) : 0;
    const double recall = support ? double(true_positive) / double(support) : 0;
    metrics->set_precision(precision);
    metrics->set_recall(recall);
    metrics->set_f1(precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0);
  }
  report.clear_confusion_matrix();
  for (int64_t count : confusion_) report.add_confusion_matrix(count);
}

}  // namespace kiln::evaluation
