#include "services/evaluation/bundle_evaluator.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/evaluation/metrics.h"
#include "services/model/predict.h"
#include "services/text/encoder.h"

namespace kiln::evaluation {
namespace {

constexpr int kBatch = 256;

}  // namespace

absl::StatusOr<kiln::v1::EvaluationReport> EvaluateBundle(const model::Bundle& bundle,
                                                          const kiln::v1::DatasetSpec& dataset,
                                                          data::DataClient& posts) {
  const std::vector<std::string>& classes = bundle.manifest.classes;
  if (std::vector<std::string>(dataset.categories().begin(), dataset.categories().end()) !=
      classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dataset.categories must be the bundle's classes in the bundle's order: ",
        absl::StrJoin(classes, ", ")));
  }
  const absl::Time start = absl::Now();
  const int max_length = bundle.weights.shape.max_length;
  absl::flat_hash_map<std::string, int32_t> labels;
  for (size_t i = 0; i < classes.size(); ++i) labels[classes[i]] = static_cast<int32_t>(i);

  text::TextEncoder encoder(bundle.vocabulary);
  MetricsAccumulator metrics(classes);
  std::vector<int32_t> ids, batch_labels;
  auto flush = [&]() -> absl::Status {
    if (batch_labels.empty()) return absl::OkStatus();
    absl::StatusOr<std::vector<float>> probabilities = model::Predict(bundle.weights, ids);
    if (!probabilities.ok()) return probabilities.status();
    metrics.Add(*probabilities, batch_labels);
    ids.clear();
    batch_labels.clear();
    return absl::OkStatus();
  };
  absl::Status read = posts.ForEachPost(dataset, {}, [&](const kiln::v1::Post& post) {
    const size_t offset = ids.size();
    ids.resize(offset + max_length);
    encoder.Encode(post.body(), absl::MakeSpan(ids.data() + offset, max_length));
    batch_labels.push_back(labels.at(post.category()));
    return batch_labels.size() >= kBatch ? flush() : absl::OkStatus();
  });
  if (read.ok()) read = flush();
  if (!read.ok()) return read;

  kiln::v1::EvaluationReport report;
  *report.mutable_dataset() = dataset;
  metrics.Fill(report);
  if (report.post_count() == 0) {
    return absl::FailedPreconditionError(
        "the dataset matches no posts: check its categories and years");
  }
  report.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  return report;
}

}  // namespace kiln::evaluation
