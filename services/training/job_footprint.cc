#include "services/training/job_footprint.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kiln::training {
namespace {

constexpr int64_t kFloatBytes = 4;

std::string GiB(int64_t bytes) { return absl::StrFormat("%.1f GiB", bytes / double(int64_t{1} << 30)); }

}  // namespace

JobFootprint EstimateFootprint(const kiln::v1::JobSpec& spec, int64_t vocabulary_size) {
  // Every factor is bounded by ValidateJobSpec (at most 10^7 × 1024 and so
  // on), so the products stay far inside int64.
  const int64_t length = spec.max_length();
  const int64_t embedding = spec.embedding_dim();
  const int64_t hidden = spec.hidden_units();
  const int64_t classes = spec.topics_size();
  const int64_t pooled = spec.pooling() == kiln::v1::POOLING_FLATTEN ? length * embedding : embedding;
  const int64_t dense = pooled * hidden + hidden + hidden * classes + classes;
  JobFootprint footprint;
  footprint.parameters = vocabulary_size * embedding + dense;
  const int64_t activations = int64_t{spec.batch_size()} * (length * embedding + 2 * hidden + classes);
  footprint.training_bytes =
      kFloatBytes * (3 * footprint.parameters + dense + 2 * activations);
  return footprint;
}

absl::Status CheckFootprint(const kiln::v1::JobSpec& spec, int64_t vocabulary_size,
                            int64_t budget_bytes, const char* whose) {
  const JobFootprint footprint = EstimateFootprint(spec, vocabulary_size);
  if (footprint.training_bytes <= budget_bytes) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the model has ", footprint.parameters, " parameters and needs about ",
      GiB(footprint.training_bytes), " to train, over ", whose, " of ", GiB(budget_bytes),
      " (vocabulary ", vocabulary_size == 0 ? std::string("not yet known") : absl::StrCat(vocabulary_size),
      " × embedding_dim ", spec.embedding_dim(), ", ",
      spec.pooling() == kiln::v1::POOLING_FLATTEN ? "max_length × embedding_dim" : "embedding_dim",
      " × hidden_units ", spec.hidden_units(), ", batch_size ", spec.batch_size(),
      "): use smaller values"));
}

}  // namespace kiln::training
