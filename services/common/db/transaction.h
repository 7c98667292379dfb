// Runs a unit of work in one PostgreSQL transaction, retrying it when
// PostgreSQL asks for a retry.
#pragma once

#include <functional>

#include <pqxx/transaction>

#include "absl/status/status.h"
#include "services/common/db/pool.h"

namespace kiln::db {

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TransactionOptions {
  Isolation isolation = Isolation::kReadCommitted;
  // Total tries of the body. Only failures that leave nothing behind are
  // retried: serialization failures and deadlocks (Aborted), and a
  // connection lost before COMMIT (Unavailable, retried on a new
  // connection).
  int max_attempts = 5;
};

// Leases a connection from `pool`, opens a transaction, runs `body` and
// commits if it returns OK; otherwise rolls back and returns its status.
// `body` may run several times, so it must touch only the transaction and
// its own outputs (assign results, do not append them). Database errors
// become statuses as described in status.h; nothing is thrown.
//
//   int64_t count = 0;
//   absl::Status status = RunInTransaction(pool, [&](pqxx::work& tx) {
//     count = tx.exec1("SELECT count(*) FROM data.posts")[0].as<int64_t>();
//     return absl::OkStatus();
//   });
absl::Status RunInTransaction(
    Pool& pool, const std::function<absl::Status(pqxx::work&)>& body,
    const TransactionOptions& options = TransactionOptions());

}  // namespace kiln::db
