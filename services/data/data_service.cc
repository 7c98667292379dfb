#include "services/data/data_service.h"

#include "absl/strings/str_cat.h"
#include "services/common/auth/interceptor.h"
#include "services/common/log.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "services/data/post_validation.h"

namespace kiln::data {
namespace {

constexpr int kMaxPostsPerMessage = 1000;

grpc::Status InvalidArgument(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

absl::Status ValidateQuery(const kiln::v1::QueryPostsRequest& request) {
  KILN_RETURN_IF_ERROR(ValidateDatasetSpec(request.dataset(), "dataset"));
  if (request.page_size() < 0 || request.page_size() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size ", request.page_size(), " is outside 0..1000"));
  }
  if (request.after_id() < 0) return absl::InvalidArgumentError("after_id must be >= 0");
  if (request.limit() < 0) return absl::InvalidArgumentError("limit must be >= 0");
  if (request.shard_count() < 0 || request.shard_count() > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard_count ", request.shard_count(), " is outside 0..1024"));
  }
  if (request.shard_count() > 1 &&
      (request.shard_index() < 0 || request.shard_index() >= request.shard_count())) {
    return absl::InvalidArgumentError(absl::StrCat("shard_index ", request.shard_index(),
                                                   " is outside 0..", request.shard_count() - 1));
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status DataServiceImpl::ImportPosts(grpc::ServerContext* context,
                                          grpc::ServerReader<kiln::v1::ImportPostsRequest>* reader,
                                          kiln::v1::ImportPostsResponse* response) {
  KILN_AUTHORIZE(context);
  kiln::v1::ImportPostsRequest request;
  int64_t index = 0;
  while (reader->Read(&request)) {
    if (request.posts_size() > kMaxPostsPerMessage) {
      return InvalidArgument(absl::StrCat(
          "a message may carry at most ", kMaxPostsPerMessage, " posts, got ",
          request.posts_size(), "; the ", response->imported(),
          " posts imported before it are stored"));
    }
    std::vector<const kiln::v1::PostInput*> valid;
    valid.reserve(request.posts_size());
    for (const kiln::v1::PostInput& post : request.posts()) {
      if (std::optional<kiln::v1::Rejection> rejection = ValidatePost(post)) {
        rejection->set_index(index);
        // Echoed to the client, which may print it as JSON: whole characters only.
        rejection->set_source(EchoableUtf8(post.source(), kMaxSourceBytes));
        *response->add_rejections() = std::move(*rejection);
        response->set_rejected(response->rejected() + 1);
      } else {
        valid.push_back(&post);
      }
      ++index;
    }
    absl::StatusOr<PostStore::ImportOutcome> outcome = store_.ImportBatch(valid);
    if (!outcome.ok()) {
      log::Error("import failed: ", outcome.status().ToString());
      return ToGrpcStatus(absl::Status(
          outcome.status().code(),
          absl::StrCat(outcome.status().message(), " (this batch was not stored; the ",
                       response->imported(), " posts imported before it are)")));
    }
    response->set_imported(response->imported() + outcome->imported);
    response->set_skipped(response->skipped() + outcome->skipped);
  }
  log::Info("import: ", response->imported(), " imported, ", response->skipped(), " skipped, ",
            response->rejected(), " rejected");
  if (response->imported() > 0) {
    // The posts are stored either way; stale statistics only slow queries.
    if (absl::Status analyzed = store_.RefreshStatistics(); !analyzed.ok()) {
      log::Warning("import: could not refresh the table's statistics: ", analyzed.ToString());
    }
  }
  return grpc::Status::OK;
}

grpc::Status DataServiceImpl::QueryPosts(grpc::ServerContext* context,
                                         const kiln::v1::QueryPostsRequest* request,
                                         grpc::ServerWriter<kiln::v1::QueryPostsResponse>* writer) {
  KILN_AUTHORIZE(context);
  if (absl::Status valid = ValidateQuery(*request); !valid.ok()) return ToGrpcStatus(valid);
  absl::Status status = store_.Query(*request, [&](kiln::v1::QueryPostsResponse& page) {
    return !context->IsCancelled() && writer->Write(page);
  });
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  return ToGrpcStatus(status);
}

grpc::Status DataServiceImpl::CountPosts(grpc::ServerContext* context,
                                         const kiln::v1::CountPostsRequest* request,
                                         kiln::v1::CountPostsResponse* response) {
  KILN_AUTHORIZE(context);
  if (absl::Status valid = ValidateDatasetSpec(request->dataset(), "dataset"); !valid.ok()) {
    return ToGrpcStatus(valid);
  }
  absl::StatusOr<kiln::v1::CountPostsResponse> counts = store_.Count(request->dataset());
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  *response = *std::move(counts);
  return grpc::Status::OK;
}

grpc::Status DataServiceImpl::GetStats(grpc::ServerContext* context,
                                       const kiln::v1::GetStatsRequest*,
                                       kiln::v1::GetStatsResponse* response) {
  KILN_AUTHORIZE(context);
  absl::StatusOr<kiln::v1::GetStatsResponse> stats = store_.Stats();
  if (!stats.ok()) return ToGrpcStatus(stats.status());
  *response = *std::move(stats);
  return grpc::Status::OK;
}

}  // namespace kiln::data
