// DataClient against a data service that stops sending halfway: the read
// gives up with a clear error instead of hanging (K8: QueryPosts had no
// deadline, so a stalled peer held preprocess and evaluation for ever).
#include <atomic>

#include "gtest/gtest.h"
#include "kiln/v1/data.grpc.pb.h"
#include "services/common/client.h"
#include "services/data/data_client.h"
#include "tests/support/loopback_service.h"

namespace kiln {
namespace {

// Sends one page of two posts, then nothing until the caller gives up.
class StallingDataService final : public kiln::v1::DataService::Service {
 public:
  grpc::Status QueryPosts(grpc::ServerContext* context, const kiln::v1::QueryPostsRequest* request,
                          grpc::ServerWriter<kiln::v1::QueryPostsResponse>* writer) override {
    ++calls;
    kiln::v1::QueryPostsResponse page;
    for (int64_t id = request->after_id() + 1; id <= request->after_id() + 2; ++id) {
      auto* post = page.add_posts();
      post->set_id(id);
      post->set_body("post");
    }
    page.set_last_id(request->after_id() + 2);
    writer->Write(page);
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(20));
    return grpc::Status::CANCELLED;
  }

  std::atomic<int> calls{0};
};

TEST(DataClientTest, AStalledStreamIsResumedThenGivenUpNamingTheStall) {
  StallingDataService service;
  auto server = kiln::testing::StartLoopbackServer({&service}, /*public_reads=*/true);
  ASSERT_TRUE(server);
  data::DataClient client(MakeChannel(kiln::testing::LoopbackAddress(*server)), "",
                          absl::Milliseconds(300));
  kiln::v1::DatasetSpec dataset;
  dataset.add_categories("sci.space");
  std::vector<int64_t> seen;
  const absl::Status status = client.ForEachPost(dataset, {}, [&](const kiln::v1::Post& post) {
    seen.push_back(post.id());
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_NE(status.message().find("sent nothing for 300ms"), absl::string_view::npos) << status;
  // Each resume starts after the last post seen: no post twice.
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(service.calls, 4);
  server->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace kiln
