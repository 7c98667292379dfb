#include "tests/support/postgres_cluster.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <pqxx/connection>
#include <pqxx/nontransaction>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace kiln::testing {
namespace {

// Set by tests/support/CMakeLists.txt.
constexpr char kScript[] = KILN_PG_CLUSTER_SCRIPT;

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// posix_spawn wants mutable C strings; they live as long as `args`.
std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return argv;
}

// Runs pg-cluster.sh with `args`; a failure carries its output.
absl::Status RunScript(std::vector<std::string> args) {
  args.insert(args.begin(), {"/bin/bash", kScript});
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  std::vector<char*> argv = Argv(args);
  pid_t pid = 0;
  const int spawn_error =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawn_error != 0) {
    close(pipe_fds[0]);
    errno = spawn_error;
    return ErrnoError("running pg-cluster.sh");
  }
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buffer, n);
  }
  close(pipe_fds[0]);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(args, " "), " failed: ", output));
  }
  return absl::OkStatus();
}

// Starts `pg-cluster.sh run DIR` in its own session (so that a Ctrl-C or a
// kill aimed at the test's process group does not reach it), talking over a
// socket pair: it writes the URI once the cluster is up, and stops the
// cluster and removes DIR when told to or when the socket closes because
// this process died, whatever killed it.
absl::Status SpawnKeeper(const std::string& directory, int* our_socket,
                         pid_t* pid) {
  int sockets[2];
  // CLOEXEC keeps our end out of every other child (pg_ctl, postgres):
  // one copy left open elsewhere would hide our death from the keeper.
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return ErrnoError("socketpair");
  }
  std::vector<std::string> args = {"/bin/bash", kScript, "run", directory};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sockets[1], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, sockets[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, sockets[1], STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  std::vector<char*> argv = Argv(args);
  const int spawn_error =
      posix_spawn(pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  close(sockets[1]);
  if (spawn_error != 0) {
    close(sockets[0]);
    errno = spawn_error;
    return ErrnoError("starting pg-cluster.sh run");
  }
  *our_socket = sockets[0];
  return absl::OkStatus();
}

// Reads the keeper's output up to the line with the URI. If the keeper
// exits first, its output says why.
absl::StatusOr<std::string> ReadUri(int socket, const std::string& directory) {
  std::string output;
  char buffer[4096];
  for (;;) {
    const size_t uri_start = output.rfind("postgresql://");
    if (uri_start != std::string::npos &&
        (uri_start == 0 || output[uri_start - 1] == '\n')) {
      const size_t uri_end = output.find('\n', uri_start);
      if (uri_end != std::string::npos) {
        return output.substr(uri_start, uri_end - uri_start);
      }
    }
    const ssize_t n = read(socket, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, n);
  }
  return absl::InternalError(
      absl::StrCat("pg-cluster.sh run ", directory, " failed: ", output));
}

// The counter keeps names unique and makes them valid identifiers whatever
// the hint starts with.
std::string DatabaseNameFor(int number, absl::string_view hint) {
  std::string name = absl::StrCat("t", number, "_");
  for (char c : hint) {
    if (name.size() >= 63) break;  // PostgreSQL's identifier limit
    name += std::isalnum(static_cast<unsigned char>(c))
                ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                : '_';
  }
  return name;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresCluster>> PostgresCluster::Start() {
  // Always /tmp: it is open to the postgres user, and short enough for the
  // unix socket path.
  char directory_template[] = "/tmp/kiln-pg-XXXXXX";
  if (mkdtemp(directory_template) == nullptr) {
    return ErrnoError("creating a directory under /tmp");
  }
  const std::string directory = directory_template;
  int keeper_socket = -1;
  pid_t keeper_pid = 0;
  if (absl::Status status = SpawnKeeper(directory, &keeper_socket, &keeper_pid);
      !status.ok()) {
    rmdir(directory.c_str());
    return status;
  }
  // From here on the destructor (or, if we die, the keeper itself) cleans up.
  std::unique_ptr<PostgresCluster> cluster(
      new PostgresCluster(directory, keeper_socket, keeper_pid));
  absl::StatusOr<std::string> uri = ReadUri(keeper_socket, directory);
  if (!uri.ok()) return uri.status();
  // The URI reads postgresql://postgres@127.0.0.1:PORT/kiln.
  const absl::string_view port_onwards =
      absl::string_view(*uri).substr(uri->rfind(':') + 1);
  if (!absl::SimpleAtoi(port_onwards.substr(0, port_onwards.find('/')),
                        &cluster->port_)) {
    return absl::InternalError(
        absl::StrCat("no port in the URI from pg-cluster.sh: ", *uri));
  }
  cluster->uri_ = *std::move(uri);
  return cluster;
}

PostgresCluster::PostgresCluster(std::string directory, int keeper_socket,
                                 pid_t keeper_pid)
    : directory_(std::move(directory)),
      keeper_socket_(keeper_socket),
      keeper_pid_(keeper_pid) {}

PostgresCluster::~PostgresCluster() {
  constexpr char kStop[] = "stop\n";
  // MSG_NOSIGNAL: a keeper that already exited must not SIGPIPE us.
  send(keeper_socket_, kStop, sizeof kStop - 1, MSG_NOSIGNAL);
  close(keeper_socket_);
  // Returns once the server is stopped and the directory removed.
  while (waitpid(keeper_pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

std::string PostgresCluster::UriFor(absl::string_view database) const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", database);
}

absl::Status PostgresCluster::RunAdminStatement(const std::string& statement) {
  try {
    pqxx::connection connection(UriFor("postgres"));
    pqxx::nontransaction(connection).exec0(statement);
    return absl::OkStatus();
  } catch (const std::exception& error) {
    return absl::InternalError(
        absl::StrCat(statement, " on ", uri_, " failed: ", error.what()));
  }
}

absl::StatusOr<std::string> PostgresCluster::CreateDatabase(
    absl::string_view hint) {
  std::string name = DatabaseNameFor(++databases_created_, hint);
  if (absl::Status status = RunAdminStatement("CREATE DATABASE " + name);
      !status.ok()) {
    return status;
  }
  return name;
}

absl::Status PostgresCluster::DropDatabase(absl::string_view database) {
  return RunAdminStatement(
      absl::StrCat("DROP DATABASE IF EXISTS ", database, " WITH (FORCE)"));
}

absl::Status PostgresCluster::Halt() {
  halted_ = true;
  return RunScript({"halt", directory_});
}

absl::Status PostgresCluster::Resume() {
  if (!halted_) return absl::OkStatus();
  absl::Status status = RunScript({"resume", directory_});
  if (status.ok()) halted_ = false;
  return status;
}

}  // namespace kiln::testing
