// What rank 0 does with a trained model: writes the TF.js bundle, has the
// evaluation service score that very bundle on the test split, publishes it
// with its metrics to the registry and links the report to the version.
//
// `confirm_lease` runs right before the publish: a job cancelled (or whose
// lease was lost) while it was evaluated must not publish or move
// `latest`, so any error it returns stops the shipping there. The registry
// makes the publish itself idempotent per job (a retried job that had
// published gets that version back).
#pragma once

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "kiln/v1/evaluation.grpc.pb.h"
#include "kiln/v1/preprocess.pb.h"
#include "kiln/v1/training.pb.h"
#include "services/model/model_weights.h"
#include "services/registry/registry_client.h"
#include "services/text/vocabulary.h"

namespace kiln::worker {

absl::StatusOr<kiln::v1::JobResult> ShipModel(kiln::v1::EvaluationService::Stub& evaluation,
                                              registry::RegistryClient& registry,
                                              const std::string& token, const kiln::v1::Job& job,
                                              const model::ModelWeights& weights,
                                              const text::Vocabulary& vocabulary,
                                              const kiln::v1::Vocabulary& vocabulary_record,
                                              absl::FunctionRef<absl::Status()> confirm_lease);

}  // namespace kiln::worker
