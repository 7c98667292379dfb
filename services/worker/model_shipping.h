// What rank 0 does with a trained model: writes the TF.js bundle, has the
// evaluation service score that very bundle on the test split, publishes it
// with its metrics to the registry and links the report to the version.
#pragma once

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
                                              const kiln::v1::Vocabulary& vocabulary_record);

}  // namespace kiln::worker
