// What a user's spec goes through before it is queued, the same for a job
// submitted alone and for every job of a sweep: the defaults, the allowed
// ranges and the training service's memory budget.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "kiln/v1/training.pb.h"

namespace kiln::training {

// The spec with its defaults filled, or InvalidArgument naming the first
// bad field ("spec.epochs ...") or the footprint over `max_job_bytes`.
absl::StatusOr<kiln::v1::JobSpec> AdmitJobSpec(kiln::v1::JobSpec spec, int default_max_attempts,
                                               int64_t max_job_bytes);

}  // namespace kiln::training
