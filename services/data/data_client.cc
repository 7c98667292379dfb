#include "services/data/data_client.h"

#include "absl/strings/str_cat.h"
#include "services/common/client.h"
#include "services/common/stall_guard.h"
#include "services/common/status.h"

namespace kiln::data {
namespace {

constexpr int kPageSize = 512;
constexpr int kMaxResumes = 3;

}  // namespace

DataClient::DataClient(std::shared_ptr<grpc::Channel> channel, std::string token,
                       absl::Duration patience)
    : stub_(kiln::v1::DataService::NewStub(std::move(channel))),
      token_(std::move(token)),
      patience_(patience) {}

absl::Status DataClient::ForEachPost(const kiln::v1::DatasetSpec& dataset, Shard shard,
                                     absl::FunctionRef<absl::Status(const kiln::v1::Post&)> visit) {
  kiln::v1::QueryPostsRequest request;
  *request.mutable_dataset() = dataset;
  request.set_page_size(kPageSize);
  request.set_shard_index(shard.index);
  request.set_shard_count(shard.count);
  int resumes = 0;
  for (;;) {
    grpc::ClientContext context;
    PrepareContext(context, token_);
    StallGuard guard(context, patience_);
    auto reader = stub_->QueryPosts(&context, request);
    kiln::v1::QueryPostsResponse page;
    while (reader->Read(&page)) {
      guard.Touch();
      for (const kiln::v1::Post& post : page.posts()) {
        if (absl::Status status = visit(post); !status.ok()) {
          context.TryCancel();
          reader->Finish();
          return status;
        }
      }
      request.set_after_id(page.last_id());
    }
    const grpc::Status status = reader->Finish();
    if (status.ok()) return absl::OkStatus();
    absl::Status error = FromGrpcStatus(status);
    if (guard.stalled()) {
      error = absl::DeadlineExceededError(absl::StrCat(
          "the data service sent nothing for ", absl::FormatDuration(patience_)));
    }
    // A broken or stalled stream resumes after the last post seen; other
    // errors are final.
    const bool resumable = guard.stalled() || status.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (!resumable || ++resumes > kMaxResumes) {
      return absl::Status(error.code(),
                          absl::StrCat("reading posts from the data service: ", error.message()));
    }
  }
}

}  // namespace kiln::data
