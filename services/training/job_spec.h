// Job specs: the defaults (the article's 8-topic setup with the
// hyperparameters of shared/bench/torch_baseline.py) and the allowed ranges.
#pragma once

#include "absl/status/status.h"
#include "kiln/v1/training.pb.h"

namespace kiln::training {

// Fills every field left at zero with its default. `default_max_attempts`
// comes from the service's configuration.
void ApplyDefaults(kiln::v1::JobSpec& spec, int default_max_attempts);

// InvalidArgument naming the first bad field ("spec.epochs") and its range.
absl::Status ValidateJobSpec(const kiln::v1::JobSpec& spec);

}  // namespace kiln::training
