#include "services/worker/lease_keeper.h"

#include <algorithm>

#include "services/common/client.h"
#include "services/common/log.h"

namespace kiln::worker {

LeaseKeeper::LeaseKeeper(kiln::v1::TrainingService::Stub& training, std::string token,
                         std::string lease_id, absl::Duration interval,
                         absl::Duration lease_ttl)
    : training_(training),
      token_(std::move(token)),
      lease_id_(std::move(lease_id)),
      interval_(interval),
      deadline_(std::max(interval, lease_ttl / 2)),
      thread_([this] { Run(); }) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void LeaseKeeper::Observe(kiln::v1::LeaseStatus status) {
  if (status == kiln::v1::LEASE_STATUS_CANCELLED) cancelled_ = true;
  if (status == kiln::v1::LEASE_STATUS_LOST) lost_ = true;
}

void LeaseKeeper::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return stopping_; })) {
    lock.unlock();
    grpc::ClientContext context;
    PrepareContext(context, token_, deadline_);
    kiln::v1::HeartbeatRequest request;
    request.set_lease_id(lease_id_);
    kiln::v1::HeartbeatResponse response;
    const grpc::Status status = training_.Heartbeat(&context, request, &response);
    if (status.ok()) {
      Observe(response.status());
    } else if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      lost_ = true;
    } else {
      // Transient: the lease survives a few missed beats (its TTL).
      log::Warning("heartbeat failed: ", status.error_message());
    }
    lock.lock();
  }
}

}  // namespace kiln::worker
