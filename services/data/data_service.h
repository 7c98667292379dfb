// The gRPC surface of the data service: auth, validation at the edge, and
// translation to PostStore calls.
#pragma once

#include "kiln/v1/data.grpc.pb.h"
#include "services/data/post_store.h"

namespace kiln::data {

class DataServiceImpl final : public kiln::v1::DataService::Service {
 public:
  explicit DataServiceImpl(PostStore& store) : store_(store) {}

  grpc::Status ImportPosts(grpc::ServerContext* context,
                           grpc::ServerReader<kiln::v1::ImportPostsRequest>* reader,
                           kiln::v1::ImportPostsResponse* response) override;
  grpc::Status QueryPosts(grpc::ServerContext* context, const kiln::v1::QueryPostsRequest* request,
                          grpc::ServerWriter<kiln::v1::QueryPostsResponse>* writer) override;
  grpc::Status CountPosts(grpc::ServerContext* context, const kiln::v1::CountPostsRequest* request,
                          kiln::v1::CountPostsResponse* response) override;
  grpc::Status GetStats(grpc::ServerContext* context, const kiln::v1::GetStatsRequest* request,
                        kiln::v1::GetStatsResponse* response) override;

 private:
  PostStore& store_;
};

}  // namespace kiln::data
