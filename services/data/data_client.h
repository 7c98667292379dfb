// Reading posts from the data service, for the services that consume them
// (preprocess, evaluation). Pages through QueryPosts and resumes after the
// last id seen if the stream breaks.
#pragma once

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kiln/v1/data.grpc.pb.h"

namespace kiln::data {

class DataClient {
 public:
  // A stream that delivers no page for `patience` is given up as stalled
  // (and resumed, up to a few times, like a broken one).
  DataClient(std::shared_ptr<grpc::Channel> channel, std::string token,
             absl::Duration patience = absl::Seconds(60));

  struct Shard {
    int index = 0;
    int count = 1;
  };

  // Calls `visit` for every post of `dataset` (in id order; only this shard
  // of them), stopping at the first error it returns.
  absl::Status ForEachPost(const kiln::v1::DatasetSpec& dataset, Shard shard,
                           absl::FunctionRef<absl::Status(const kiln::v1::Post&)> visit);

 private:
  std::unique_ptr<kiln::v1::DataService::Stub> stub_;
  const std::string token_;
  const absl::Duration patience_;
};

}  // namespace kiln::data
