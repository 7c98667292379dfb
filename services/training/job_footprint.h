// What training a job spec takes, worked out before anything is allocated:
// the training service refuses a spec that cannot fit at submission, and a
// worker refuses a lease whose real vocabulary makes it too big for it,
// instead of being OOM-killed and retried until the job's attempts run out.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "kiln/v1/training.pb.h"

namespace kiln::training {

struct JobFootprint {
  int64_t parameters = 0;
  // Weights and Adam's two moments, dense gradients and one batch's
  // activations forward and back, in bytes; the data shard is not counted.
  int64_t training_bytes = 0;
};

// For `vocabulary_size` ids (the spec's vocabulary.max_size at submission,
// where 0 counts only the parts that do not depend on the vocabulary).
JobFootprint EstimateFootprint(const kiln::v1::JobSpec& spec, int64_t vocabulary_size);

// OK when the footprint fits `budget_bytes`; otherwise FailedPrecondition
// naming the figures and the spec fields that drive them. `whose` says whose
// budget it is ("the training service's limit", "this worker's memory").
absl::Status CheckFootprint(const kiln::v1::JobSpec& spec, int64_t vocabulary_size,
                            int64_t budget_bytes, const char* whose);

}  // namespace kiln::training
