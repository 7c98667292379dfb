// Cancels a gRPC call that stops making progress. A stream has no deadline
// that fits every size of it, but a peer that has sent nothing for a while
// (stalled, or gone without closing the connection) should not hold the
// caller for ever: the caller Touch()es the guard on every message, and the
// guard cancels the call when `patience` passes without one.
#pragma once

#include <grpcpp/client_context.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace kiln {

class StallGuard {
 public:
  StallGuard(grpc::ClientContext& context, absl::Duration patience);
  ~StallGuard();  // stops watching; never cancels after it returns
  StallGuard(const StallGuard&) = delete;
  StallGuard& operator=(const StallGuard&) = delete;

  void Touch();
  // Whether the guard cancelled the call.
  bool stalled() const;

 private:
  void Watch();

  grpc::ClientContext& context_;
  const absl::Duration patience_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  absl::Time last_progress_;
  bool stopping_ = false;
  bool stalled_ = false;
  std::thread watcher_;
};

}  // namespace kiln
