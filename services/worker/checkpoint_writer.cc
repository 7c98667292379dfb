#include "services/worker/checkpoint_writer.h"

#include <utility>

#include "services/worker/retry_policy.h"

namespace kiln::worker {

CheckpointWriter::CheckpointWriter(Store store, OnError on_error, Interrupt interrupt)
    : store_(std::move(store)),
      on_error_(std::move(on_error)),
      interrupt_(std::move(interrupt)),
      thread_([this] { Loop(); }) {}

CheckpointWriter::~CheckpointWriter() {
  bool storing = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    pending_.reset();
    storing = storing_;
  }
  changed_.notify_all();
  if (storing && interrupt_) interrupt_();
  thread_.join();
}

void CheckpointWriter::Submit(int epoch, std::string bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = Pending{epoch, std::move(bytes)};
  }
  changed_.notify_all();
}

void CheckpointWriter::Flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !pending_ && !storing_; });
}

bool CheckpointWriter::idle() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !pending_ && !storing_;
}

absl::Status CheckpointWriter::permanent_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return permanent_error_;
}

void CheckpointWriter::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || pending_.has_value(); });
    if (stopping_) return;
    Pending next = std::move(*pending_);
    pending_.reset();
    storing_ = true;
    lock.unlock();
    const absl::Status status = store_(next.epoch, next.bytes);
    lock.lock();
    if (!status.ok() && on_error_ && !stopping_) on_error_(next.epoch, status);
    storing_ = false;
    if (!status.ok() && !IsRetryable(status) && permanent_error_.ok()) permanent_error_ = status;
    changed_.notify_all();
  }
}

}  // namespace kiln::worker
