// A job's training data from the preprocess service: the vocabulary of its
// training split and this rank's share of the encoded examples.
#pragma once

#include "absl/status/statusor.h"
#include "kiln/v1/preprocess.grpc.pb.h"
#include "kiln/v1/training.pb.h"
#include "services/model/trainer.h"
#include "services/text/vocabulary.h"

namespace kiln::worker {

// The training years without the validation posts; the vocabulary and every
// training example come from these.
kiln::v1::DatasetSpec TrainDataset(const kiln::v1::JobSpec& spec);
// The validation_fraction of the training years held out by content hash
// (DatasetSpec.holdout); only meaningful when validation_fraction > 0.
kiln::v1::DatasetSpec ValidationDataset(const kiln::v1::JobSpec& spec);
kiln::v1::DatasetSpec TestDataset(const kiln::v1::JobSpec& spec);

// Builds (or finds: vocabularies are content-addressed, so every rank gets
// the same one) the vocabulary of the training split.
absl::StatusOr<kiln::v1::Vocabulary> BuildVocabulary(kiln::v1::PreprocessService::Stub& preprocess,
                                                     const std::string& token,
                                                     const kiln::v1::JobSpec& spec);

// Rows rank, rank + world_size, ... of the encoded training split: the
// shard model::Trainer expects.
absl::StatusOr<model::Examples> FetchExamples(kiln::v1::PreprocessService::Stub& preprocess,
                                              const std::string& token,
                                              const kiln::v1::JobSpec& spec,
                                              const std::string& vocabulary_id, int rank,
                                              int world_size);

// Every validation example, unsharded: each rank scores the whole set, so
// all ranks reach the same early-stopping decision without talking. Empty
// when the spec has no validation.
absl::StatusOr<model::Examples> FetchValidationExamples(
    kiln::v1::PreprocessService::Stub& preprocess, const std::string& token,
    const kiln::v1::JobSpec& spec, const std::string& vocabulary_id);

// The vocabulary's words, for the bundle's vocab.json.
absl::StatusOr<text::Vocabulary> FetchVocabulary(kiln::v1::PreprocessService::Stub& preprocess,
                                                 const std::string& token,
                                                 const std::string& vocabulary_id);

}  // namespace kiln::worker
