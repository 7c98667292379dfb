// CheckpointWriter: training never waits for a store, the newest checkpoint
// wins, permanent failures surface, and the destructor interrupts a store.
#include "services/worker/checkpoint_writer.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace kiln::worker {
namespace {

// A store that blocks until released, recording what it was given.
class GatedStore {
 public:
  absl::Status Store(int epoch, const std::string& bytes) {
    std::unique_lock<std::mutex> lock(mutex_);
    started_.push_back(epoch);
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_ || interrupted_; });
    if (interrupted_) return absl::CancelledError("interrupted");
    stored_.emplace_back(epoch, bytes);
    return next_status_;
  }
  void WaitStarted(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return started_.size() >= count; });
  }
  void Open(absl::Status status = absl::OkStatus()) {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    next_status_ = std::move(status);
    changed_.notify_all();
  }
  void Interrupt() {
    std::lock_guard<std::mutex> lock(mutex_);
    interrupted_ = true;
    changed_.notify_all();
  }
  std::vector<std::pair<int, std::string>> stored() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stored_;
  }
  std::vector<int> started() {
    std::lock_guard<std::mutex> lock(mutex_);
    return started_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  bool interrupted_ = false;
  absl::Status next_status_;
  std::vector<int> started_;
  std::vector<std::pair<int, std::string>> stored_;
};

// A writer that stores into `store` and interrupts it on destruction.
std::unique_ptr<CheckpointWriter> WriterInto(GatedStore& store,
                                             CheckpointWriter::OnError on_error = nullptr) {
  return std::make_unique<CheckpointWriter>(
      [&store](int epoch, const std::string& bytes) { return store.Store(epoch, bytes); },
      std::move(on_error), [&store] { store.Interrupt(); });
}

TEST(CheckpointWriterTest, SubmitReturnsWhileAStoreIsBlockedAndTheNewestPendingWins) {
  GatedStore store;
  {
    auto writer = WriterInto(store);
    EXPECT_TRUE(writer->idle());
    writer->Submit(1, "one");
    store.WaitStarted(1);
    EXPECT_FALSE(writer->idle());
    // The store of epoch 1 is blocked; these return at once.
    writer->Submit(2, "two");
    writer->Submit(3, "three");
    store.Open();
    writer->Flush();
    EXPECT_TRUE(writer->idle());
    EXPECT_TRUE(writer->permanent_error().ok());
  }
  const std::vector<std::pair<int, std::string>> expected = {{1, "one"}, {3, "three"}};
  EXPECT_EQ(store.stored(), expected);
}

TEST(CheckpointWriterTest, ARetryableFailureIsReportedAndTrainingGoesOn) {
  GatedStore store;
  std::vector<int> errors;
  auto writer =
      WriterInto(store, [&errors](int epoch, const absl::Status&) { errors.push_back(epoch); });
  store.Open(absl::UnavailableError("the training service restarts"));
  writer->Submit(4, "four");
  writer->Flush();
  EXPECT_EQ(errors, std::vector<int>{4});
  EXPECT_TRUE(writer->permanent_error().ok());
}

TEST(CheckpointWriterTest, ARefusalNoRetryMendsBecomesThePermanentError) {
  GatedStore store;
  auto writer = WriterInto(store);
  store.Open(absl::FailedPreconditionError("lease L is lost; the checkpoint is not kept"));
  writer->Submit(5, "five");
  writer->Flush();
  EXPECT_EQ(writer->permanent_error().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(writer->permanent_error().message(), "lease L is lost; the checkpoint is not kept");
}

TEST(CheckpointWriterTest, TheDestructorInterruptsTheStoreInProgressAndDropsThePending) {
  GatedStore store;
  std::vector<int> errors;
  {
    auto writer =
        WriterInto(store, [&errors](int epoch, const absl::Status&) { errors.push_back(epoch); });
    writer->Submit(6, "six");
    store.WaitStarted(1);
    writer->Submit(7, "seven");
  }  // would hang here if the store were not interrupted
  EXPECT_EQ(store.started(), std::vector<int>{6});
  EXPECT_TRUE(store.stored().empty());
  EXPECT_TRUE(errors.empty()) << "an interrupted store at the end is no failure to report";
}

}  // namespace
}  // namespace kiln::worker
