#include "services/training/job_admission.h"

#include "absl/strings/str_cat.h"
#include "services/training/job_footprint.h"
#include "services/training/job_spec.h"

namespace kiln::training {

absl::StatusOr<kiln::v1::JobSpec> AdmitJobSpec(kiln::v1::JobSpec spec, int default_max_attempts,
                                               int64_t max_job_bytes) {
  ApplyDefaults(spec, default_max_attempts);
  if (absl::Status valid = ValidateJobSpec(spec); !valid.ok()) return valid;
  // The vocabulary is not built yet: its bound, when the spec sets one.
  if (absl::Status fits = CheckFootprint(spec, spec.vocabulary().max_size(), max_job_bytes,
                                         "the training service's limit (KILN_MAX_JOB_MEMORY)");
      !fits.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("spec: ", fits.message()));
  }
  return spec;
}

}  // namespace kiln::training
