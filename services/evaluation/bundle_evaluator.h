// Scores a bundle (the very files that ship) on a dataset: posts come from
// the data service and are preprocessed with the bundle's own vocabulary
// and max_length, then run through the bundle's weights.
#pragma once

#include "absl/status/statusor.h"
#include "kiln/v1/evaluation.pb.h"
#include "services/data/data_client.h"
#include "services/model/bundle_reader.h"

namespace kiln::evaluation {

// Fills everything but the id, job, model, version and creation time. The
// dataset's categories must equal the bundle's classes, in order.
absl::StatusOr<kiln::v1::EvaluationReport> EvaluateBundle(const model::Bundle& bundle,
                                                          const kiln::v1::DatasetSpec& dataset,
                                                          data::DataClient& posts);

}  // namespace kiln::evaluation
