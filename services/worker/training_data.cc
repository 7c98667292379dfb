#include "services/worker/training_data.h"

#include "absl/strings/str_cat.h"
#include "services/common/client.h"
#include "services/common/status.h"
#include "services/text/spec.h"

namespace kiln::worker {
namespace {

absl::Status Annotate(const grpc::Status& status, const char* what) {
  absl::Status error = FromGrpcStatus(status);
  return absl::Status(error.code(), absl::StrCat(what, ": ", error.message()));
}

kiln::v1::DatasetSpec Dataset(const kiln::v1::JobSpec& spec,
                              const google::protobuf::RepeatedPtrField<kiln::v1::YearRange>& years) {
  kiln::v1::DatasetSpec dataset;
  *dataset.mutable_categories() = spec.topics();
  *dataset.mutable_years() = years;
  *dataset.mutable_sources() = spec.sources();
  return dataset;
}

kiln::v1::DatasetSpec Holdout(kiln::v1::DatasetSpec dataset, const kiln::v1::JobSpec& spec,
                              kiln::v1::HoldoutSide side) {
  dataset.mutable_holdout()->set_fraction(spec.validation_fraction());
  dataset.mutable_holdout()->set_side(side);
  return dataset;
}

// The encoded posts of `dataset`, rows shard.index, shard.index +
// shard.count, ... of them.
absl::StatusOr<model::Examples> Encode(kiln::v1::PreprocessService::Stub& preprocess,
                                       const std::string& token,
                                       const kiln::v1::DatasetSpec& dataset,
                                       const std::string& vocabulary_id, int max_length,
                                       int shard_index, int shard_count, const char* what) {
  grpc::ClientContext context;
  PrepareContext(context, token, absl::Minutes(10));
  kiln::v1::EncodeRequest request;
  *request.mutable_dataset() = dataset;
  request.set_vocabulary_id(vocabulary_id);
  request.set_max_length(max_length);
  request.set_batch_size(1024);
  request.set_shard_index(shard_index);
  request.set_shard_count(shard_count);
  auto reader = preprocess.Encode(&context, request);
  model::Examples examples;
  kiln::v1::EncodeResponse batch;
  while (reader->Read(&batch)) {
    examples.ids.insert(examples.ids.end(), batch.ids().begin(), batch.ids().end());
    examples.labels.insert(examples.labels.end(), batch.labels().begin(), batch.labels().end());
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return Annotate(status, what);
  return examples;
}

}  // namespace

kiln::v1::DatasetSpec TrainDataset(const kiln::v1::JobSpec& spec) {
  kiln::v1::DatasetSpec dataset = Dataset(spec, spec.train_years());
  if (spec.validation_fraction() <= 0) return dataset;
  return Holdout(std::move(dataset), spec, kiln::v1::HOLDOUT_SIDE_REST);
}

kiln::v1::DatasetSpec ValidationDataset(const kiln::v1::JobSpec& spec) {
  return Holdout(Dataset(spec, spec.train_years()), spec, kiln::v1::HOLDOUT_SIDE_HELD_OUT);
}

kiln::v1::DatasetSpec TestDataset(const kiln::v1::JobSpec& spec) {
  return Dataset(spec, spec.test_years());
}

absl::StatusOr<kiln::v1::Vocabulary> BuildVocabulary(kiln::v1::PreprocessService::Stub& preprocess,
                                                     const std::string& token,
                                                     const kiln::v1::JobSpec& spec) {
  grpc::ClientContext context;
  PrepareContext(context, token, absl::Minutes(10));
  kiln::v1::BuildVocabularyRequest request;
  *request.mutable_dataset() = TrainDataset(spec);
  *request.mutable_options() = spec.vocabulary();
  kiln::v1::Vocabulary vocabulary;
  const grpc::Status status = preprocess.BuildVocabulary(&context, request, &vocabulary);
  if (!status.ok()) return Annotate(status, "building the vocabulary");
  return vocabulary;
}

absl::StatusOr<model::Examples> FetchExamples(kiln::v1::PreprocessService::Stub& preprocess,
                                              const std::string& token,
                                              const kiln::v1::JobSpec& spec,
                                              const std::string& vocabulary_id, int rank,
                                              int world_size) {
  KILN_ASSIGN_OR_RETURN(model::Examples examples,
                        Encode(preprocess, token, TrainDataset(spec), vocabulary_id,
                               spec.max_length(), rank, world_size, "encoding the training split"));
  if (examples.labels.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "rank ", rank, " got no training posts: the training split has fewer posts than ranks"));
  }
  return examples;
}

absl::StatusOr<model::Examples> FetchValidationExamples(
    kiln::v1::PreprocessService::Stub& preprocess, const std::string& token,
    const kiln::v1::JobSpec& spec, const std::string& vocabulary_id) {
  if (spec.validation_fraction() <= 0) return model::Examples{};
  return Encode(preprocess, token, ValidationDataset(spec), vocabulary_id, spec.max_length(), 0,
                1, "encoding the validation split");
}

absl::StatusOr<text::Vocabulary> FetchVocabulary(kiln::v1::PreprocessService::Stub& preprocess,
                                                 const std::string& token,
                                                 const std::string& vocabulary_id) {
  grpc::ClientContext context;
  PrepareContext(context, token, absl::Minutes(2));
  kiln::v1::GetVocabularyRequest request;
  request.set_id(vocabulary_id);
  request.set_include_words(true);
  kiln::v1::Vocabulary record;
  const grpc::Status status = preprocess.GetVocabulary(&context, request, &record);
  if (!status.ok()) return Annotate(status, "reading the vocabulary");
  std::vector<std::string> words = {text::kPaddingWord, text::kUnknownWord};
  words.insert(words.end(), record.words().begin(), record.words().end());
  return text::Vocabulary::FromWords(std::move(words));
}

}  // namespace kiln::worker
