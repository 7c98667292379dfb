#include "services/preprocess/preprocess_service.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/common/auth/interceptor.h"
#include "services/common/log.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "services/text/cleaner.h"
#include "services/text/encoder.h"
#include "services/text/spec.h"
#include "services/text/tokenizer.h"

namespace kiln::preprocess {
namespace {

constexpr int kMaxLength = 4096;
constexpr int kDefaultBatch = 512;
constexpr int kDefaultTokenizeLength = 256;

absl::Status ValidateOptions(const kiln::v1::VocabularyOptions& options) {
  if (options.min_count() < 0 || options.min_count() > 1000000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.min_count ", options.min_count(), " is outside 1..1000000000"));
  }
  if (options.max_size() != 0 && (options.max_size() < 3 || options.max_size() > 10000000)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.max_size ", options.max_size(), " must be 0 (no bound) or 3..10000000"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEncode(const kiln::v1::EncodeRequest& request) {
  KILN_RETURN_IF_ERROR(ValidateDatasetSpec(request.dataset(), "dataset"));
  if (request.vocabulary_id().empty()) return absl::InvalidArgumentError("vocabulary_id is empty");
  if (request.max_length() < 1 || request.max_length() > kMaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_length ", request.max_length(), " is outside 1..", kMaxLength));
  }
  if (request.batch_size() < 0 || request.batch_size() > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size ", request.batch_size(), " is outside 1..4096"));
  }
  if (request.shard_count() < 0 || request.shard_count() > 1024 ||
      (request.shard_count() > 1 &&
       (request.shard_index() < 0 || request.shard_index() >= request.shard_count()))) {
    return absl::InvalidArgumentError(absl::StrCat("shard ", request.shard_index(), " of ",
                                                   request.shard_count(), " is invalid"));
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status PreprocessServiceImpl::BuildVocabulary(grpc::ServerContext* context,
                                                    const kiln::v1::BuildVocabularyRequest* request,
                                                    kiln::v1::Vocabulary* response) {
  KILN_AUTHORIZE(context);
  if (absl::Status s = ValidateDatasetSpec(request->dataset(), "dataset"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = ValidateOptions(request->options()); !s.ok()) return ToGrpcStatus(s);

  text::TokenCounter counter;
  text::Tokenizer tokenizer;
  int64_t posts = 0;
  absl::Status read = posts_.ForEachPost(request->dataset(), {}, [&](const kiln::v1::Post& post) {
    if (context->IsCancelled()) return absl::CancelledError("the caller went away");
    counter.Add(tokenizer.Tokenize(post.body()));
    ++posts;
    return absl::OkStatus();
  });
  if (!read.ok()) return ToGrpcStatus(read);
  if (posts == 0) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "the dataset matches no posts: check its categories and years, or import "
                        "posts first (kiln ingest)");
  }
  text::VocabularyOptions options;
  options.min_count = std::max(1, request->options().min_count());
  options.max_size = request->options().max_size();
  absl::StatusOr<text::Vocabulary> vocabulary = text::Vocabulary::Build(counter, options);
  if (!vocabulary.ok()) return ToGrpcStatus(vocabulary.status());
  absl::StatusOr<kiln::v1::Vocabulary> stored =
      vocabularies_.Put(*vocabulary, request->dataset(), request->options(), posts);
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  log::Info("vocabulary ", stored->id(), ": ", stored->size(), " ids from ", posts, " posts");
  *response = *std::move(stored);
  return grpc::Status::OK;
}

grpc::Status PreprocessServiceImpl::GetVocabulary(grpc::ServerContext* context,
                                                  const kiln::v1::GetVocabularyRequest* request,
                                                  kiln::v1::Vocabulary* response) {
  KILN_AUTHORIZE(context);
  absl::StatusOr<kiln::v1::Vocabulary> record =
      vocabularies_.Get(request->id(), request->include_words());
  if (!record.ok()) return ToGrpcStatus(record.status());
  *response = *std::move(record);
  return grpc::Status::OK;
}

grpc::Status PreprocessServiceImpl::Encode(grpc::ServerContext* context,
                                           const kiln::v1::EncodeRequest* request,
                                           grpc::ServerWriter<kiln::v1::EncodeResponse>* writer) {
  KILN_AUTHORIZE(context);
  if (absl::Status s = ValidateEncode(*request); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<std::shared_ptr<const text::Vocabulary>> vocabulary =
      vocabularies_.Load(request->vocabulary_id());
  if (!vocabulary.ok()) return ToGrpcStatus(vocabulary.status());

  absl::flat_hash_map<std::string, int32_t> labels;
  for (int i = 0; i < request->dataset().categories_size(); ++i) {
    labels[request->dataset().categories(i)] = i;
  }
  const int max_length = request->max_length();
  const int batch_size = request->batch_size() > 0 ? request->batch_size() : kDefaultBatch;
  text::TextEncoder encoder(**vocabulary);
  kiln::v1::EncodeResponse batch;
  batch.set_max_length(max_length);
  auto flush = [&]() -> absl::Status {
    if (batch.labels().empty()) return absl::OkStatus();
    if (!writer->Write(batch)) return absl::CancelledError("the caller went away");
    batch.clear_ids();
    batch.clear_labels();
    batch.clear_post_ids();
    return absl::OkStatus();
  };
  const int shard_count = std::max(1, request->shard_count());
  int64_t position = -1;
  absl::Status read = posts_.ForEachPost(
      request->dataset(), {}, [&](const kiln::v1::Post& post) {
        if (++position % shard_count != request->shard_index()) return absl::OkStatus();
        const size_t offset = batch.ids_size();
        batch.mutable_ids()->Resize(static_cast<int>(offset) + max_length, 0);
        encoder.Encode(post.body(),
                       absl::MakeSpan(batch.mutable_ids()->mutable_data() + offset, max_length));
        batch.add_labels(labels.at(post.category()));
        batch.add_post_ids(post.id());
        return batch.labels_size() >= batch_size ? flush() : absl::OkStatus();
      });
  if (read.ok()) read = flush();
  return ToGrpcStatus(read);
}

grpc::Status PreprocessServiceImpl::Tokenize(grpc::ServerContext* context,
                                             const kiln::v1::TokenizeRequest* request,
                                             kiln::v1::TokenizeResponse* response) {
  KILN_AUTHORIZE(context);
  if (request->text().size() > (1 << 20)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "text is over 1 MiB");
  }
  const int max_length =
      request->max_length() > 0 ? request->max_length() : kDefaultTokenizeLength;
  if (max_length > kMaxLength) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("max_length ", max_length, " is outside 1..", kMaxLength));
  }
  response->set_spec_version(text::kSpecVersion);
  response->set_cleaned(text::CleanText(request->text()));
  text::Tokenizer tokenizer;
  const auto& tokens = tokenizer.Tokenize(request->text());
  for (std::string_view token : tokens) response->add_tokens(std::string(token));
  if (!request->vocabulary_id().empty()) {
    absl::StatusOr<std::shared_ptr<const text::Vocabulary>> vocabulary =
        vocabularies_.Load(request->vocabulary_id());
    if (!vocabulary.ok()) return ToGrpcStatus(vocabulary.status());
    response->mutable_ids()->Resize(max_length, 0);
    text::EncodeTokens(tokens, **vocabulary,
                       absl::MakeSpan(response->mutable_ids()->mutable_data(), max_length));
  }
  return grpc::Status::OK;
}

}  // namespace kiln::preprocess
