// A fixed-size, thread-safe pool of PostgreSQL connections.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kiln::db {

struct PoolOptions {
  // libpq connection string: a URI (postgresql://user@host:port/db?...) or
  // key=value pairs.
  std::string uri;
  // Connections open at once, idle and leased together.
  int max_size = 8;
  // How long Acquire() waits for a connection to be returned when all
  // max_size are leased.
  absl::Duration acquire_timeout = absl::Seconds(10);
  // Applied unless the URI sets connect_timeout itself; libpq's default is
  // to wait forever for an unreachable host.
  absl::Duration connect_timeout = absl::Seconds(5);
};

class Pool;

// A connection borrowed from a Pool. Returned to the pool on destruction;
// must not outlive the pool.
class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  pqxx::connection& operator*() const { return *connection_; }
  pqxx::connection* operator->() const { return connection_.get(); }

  // Closes the connection on return instead of reusing it. Call it after a
  // connection error; the pool then also drops its idle connections, which
  // are likely dead too (e.g. after a server restart).
  void Discard() { discard_ = true; }

  // Whether this connection was used before (as opposed to opened for this
  // lease). A failure on a reused connection may just mean it went stale.
  bool reused() const { return reused_; }

 private:
  friend class Pool;
  Lease(Pool* pool, std::unique_ptr<pqxx::connection> connection, bool reused);
  void Release();

  Pool* pool_;
  std::unique_ptr<pqxx::connection> connection_;
  bool reused_;
  bool discard_ = false;
};

class Pool {
 public:
  // Checks the options and the connection string; does not connect
  // (connections are opened on first use).
  static absl::StatusOr<std::unique_ptr<Pool>> Create(PoolOptions options);

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  // Every Lease must have been destroyed before the pool.
  ~Pool();

  // Hands out an idle connection, or opens one if fewer than max_size are
  // open, or waits up to `timeout` (default acquire_timeout) for one to be
  // returned. Errors: DeadlineExceeded when the wait times out, Unavailable
  // when PostgreSQL cannot be reached.
  absl::StatusOr<Lease> Acquire();
  absl::StatusOr<Lease> Acquire(absl::Duration timeout);

  // Health check: runs SELECT 1. A stale pooled connection is replaced
  // and tried again once, so OK means the server answers right now.
  absl::Status Ping();

  // "host:port/database" for messages; never contains a password.
  const std::string& endpoint() const { return endpoint_; }

  struct Counts {
    int open = 0;  // idle + leased + being opened
    int idle = 0;
  };
  Counts counts() const;

 private:
  Pool(PoolOptions options, std::string connection_string,
       std::string endpoint);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect() const;
  void Return(std::unique_ptr<pqxx::connection> connection, bool discard);

  const PoolOptions options_;
  const std::string connection_string_;
  const std::string endpoint_;

  mutable std::mutex mutex_;
  std::condition_variable slot_freed_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;

  friend class Lease;
};

}  // namespace kiln::db
