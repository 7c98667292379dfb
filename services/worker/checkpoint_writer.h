// Stores rank 0's checkpoints off the training thread. Training goes on
// while the newest checkpoint is written; one superseded before its turn
// is dropped, since the later one resumes the job just as exactly. A job
// therefore resumes from its newest stored checkpoint, which may be a few
// epochs behind the epochs it reports (Job.checkpoint_epoch says which).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace kiln::worker {

class CheckpointWriter {
 public:
  // Stores one checkpoint; called on the writer's own thread, one at a time.
  using Store = std::function<absl::Status(int epoch, const std::string& bytes)>;
  // Told of every failed store, on the writer's thread.
  using OnError = std::function<void(int epoch, const absl::Status& status)>;

  // Ends a store in progress early (e.g. grpc::ClientContext::TryCancel);
  // called from the destructor's thread.
  using Interrupt = std::function<void()>;

  CheckpointWriter(Store store, OnError on_error, Interrupt interrupt);
  // Drops a pending checkpoint, interrupts the one being stored and waits
  // for it to return: the run that needed them is over.
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Queues the checkpoint after `epoch`, replacing one not yet started.
  void Submit(int epoch, std::string bytes);
  // Blocks until nothing is pending or being stored.
  void Flush();
  // Nothing pending or being stored: a checkpoint submitted now is stored
  // at once. Lets the caller skip encoding one that would wait anyway.
  bool idle() const;
  // The first failure that storing again cannot mend (retry_policy.h:
  // a lost lease, a refused argument); OK while there is none.
  absl::Status permanent_error() const;

 private:
  void Loop();

  const Store store_;
  const OnError on_error_;
  const Interrupt interrupt_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  struct Pending {
    int epoch;
    std::string bytes;
  };
  std::optional<Pending> pending_;
  bool storing_ = false;
  bool stopping_ = false;
  absl::Status permanent_error_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace kiln::worker
