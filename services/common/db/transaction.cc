#include "services/common/db/transaction.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/common/db/status.h"

namespace kiln::db {
namespace {

const char* SetIsolationStatement(Isolation isolation) {
  switch (isolation) {
    case Isolation::kReadCommitted:
      return nullptr;  // PostgreSQL's default
    case Isolation::kRepeatableRead:
      return "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ";
    case Isolation::kSerializable:
      return "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE";
  }
  return nullptr;
}

bool IsRetryable(const absl::Status& status) {
  return absl::IsAborted(status) || absl::IsUnavailable(status);
}

// Exponential backoff with jitter, so that transactions which conflicted
// once do not collide again in lockstep.
void BackOff(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int ceiling_ms = 5 << std::min(attempt, 6);
  std::uniform_int_distribution<int> delay_ms(ceiling_ms / 2, ceiling_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
}

}  // namespace

absl::Status RunInTransaction(
    Pool& pool, const std::function<absl::Status(pqxx::work&)>& body,
    const TransactionOptions& options) {
  const int max_attempts = std::max(options.max_attempts, 1);
  absl::Status failure;
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    absl::StatusOr<Lease> lease = pool.Acquire();
    if (!lease.ok()) return lease.status();
    try {
      pqxx::work transaction(**lease);
      if (const char* statement = SetIsolationStatement(options.isolation)) {
        transaction.exec0(statement);
      }
      absl::Status status = body(transaction);
      if (!status.ok()) return status;  // ~work rolls back
      transaction.commit();
      return absl::OkStatus();
    } catch (...) {
      failure = StatusFromCurrentException();
      if (!(*lease)->is_open()) {
        // libpq reports a connection lost mid-statement as a plain error
        // without SQLSTATE; the transaction never committed, so it is
        // safe to try again on a fresh connection.
        if (absl::IsInternal(failure)) {
          failure = absl::UnavailableError(
              absl::StrCat(failure.message(), " (the connection to the database was lost)"));
        }
        lease->Discard();
      } else if (absl::IsUnavailable(failure)) {
        lease->Discard();
      }
    }
    if (!IsRetryable(failure)) return failure;
    if (attempt < max_attempts) BackOff(attempt);
  }
  return absl::Status(failure.code(),
                      absl::StrCat(failure.message(), " (gave up after ",
                                   max_attempts, " attempts)"));
}

}  // namespace kiln::db
