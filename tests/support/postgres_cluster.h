// A throwaway PostgreSQL 15 cluster for integration tests.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kiln::testing {

// Runs tests/support/pg-cluster.sh: a fresh cluster in a new directory under
// /tmp, owned by the postgres OS user when the test runs as root, on a free
// port of 127.0.0.1, with fsync off.
//
// Cleanup does not depend on the test process ending well: the cluster is
// kept by a `pg-cluster.sh run` process that stops the server and removes
// the directory when the destructor tells it to, or as soon as this process
// dies in any way (failed assertion, abort, crash, SIGINT, SIGTERM, even
// SIGKILL), since that closes the socket it listens on.
class PostgresCluster {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresCluster>> Start();

  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;
  ~PostgresCluster();

  // URI of the database created with the cluster, "kiln".
  const std::string& uri() const { return uri_; }
  std::string UriFor(absl::string_view database) const;
  int port() const { return port_; }
  const std::string& directory() const { return directory_; }

  // Creates an empty database whose name starts with a counter and goes on
  // with `hint` made into an identifier ("t3_pooltest_acquire"); returns
  // the name.
  absl::StatusOr<std::string> CreateDatabase(absl::string_view hint);
  // Drops a database made by CreateDatabase, disconnecting anyone still
  // connected to it.
  absl::Status DropDatabase(absl::string_view database);

  // Stops the server at once, like a crash, keeping its data and port.
  absl::Status Halt();
  // Starts a halted server again; does nothing if it is running.
  absl::Status Resume();

 private:
  PostgresCluster(std::string directory, int keeper_socket, pid_t keeper_pid);
  absl::Status RunAdminStatement(const std::string& statement);

  const std::string directory_;
  // The process running `pg-cluster.sh run`, which started the cluster and
  // stops it when a line arrives on this socket or the socket closes.
  const int keeper_socket_;
  const pid_t keeper_pid_;
  std::string uri_;
  int port_ = 0;
  bool halted_ = false;
  std::atomic<int> databases_created_{0};
};

}  // namespace kiln::testing
