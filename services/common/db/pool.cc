#include "services/common/db/pool.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include <pqxx/nontransaction>

#include "absl/strings/str_cat.h"
#include "services/common/db/status.h"

namespace kiln::db {
namespace {

std::string QuoteConnectionValue(absl::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '\'';
  return quoted;
}

struct ParsedConnectionString {
  std::string connection_string;  // key='value' form, connect_timeout set
  std::string endpoint;           // host:port/database
};

// Parses with libpq itself, so that anything libpq accepts works and a typo
// is reported when the pool is created rather than on first use.
absl::StatusOr<ParsedConnectionString> ParseConnectionString(
    const std::string& uri, absl::Duration connect_timeout) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  if (options == nullptr) {
    std::string reason = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    return absl::InvalidArgumentError(
        absl::StrCat("invalid PostgreSQL connection string: ", reason));
  }
  ParsedConnectionString parsed;
  std::string host, port = "5432", database, user;
  bool has_connect_timeout = false;
  for (const PQconninfoOption* option = options; option->keyword != nullptr;
       ++option) {
    if (option->val == nullptr) continue;
    const absl::string_view keyword = option->keyword;
    absl::StrAppend(&parsed.connection_string, keyword, "=",
                    QuoteConnectionValue(option->val), " ");
    if (keyword == "host" || (keyword == "hostaddr" && host.empty())) {
      host = option->val;
    } else if (keyword == "port") {
      port = option->val;
    } else if (keyword == "dbname") {
      database = option->val;
    } else if (keyword == "user") {
      user = option->val;
    } else if (keyword == "connect_timeout") {
      has_connect_timeout = true;
    }
  }
  PQconninfoFree(options);
  if (!has_connect_timeout) {
    const double seconds = std::ceil(absl::ToDoubleSeconds(connect_timeout));
    absl::StrAppend(&parsed.connection_string,
                    "connect_timeout=", static_cast<long>(seconds));
  }
  // libpq's defaults: the local socket, and a database named like the user.
  parsed.endpoint = absl::StrCat(host.empty() ? "localhost" : host, ":", port,
                                 "/", database.empty() ? user : database);
  return parsed;
}

}  // namespace

Lease::Lease(Pool* pool, std::unique_ptr<pqxx::connection> connection,
             bool reused)
    : pool_(pool), connection_(std::move(connection)), reused_(reused) {}

Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_),
      connection_(std::move(other.connection_)),
      reused_(other.reused_),
      discard_(other.discard_) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = other.pool_;
    connection_ = std::move(other.connection_);
    reused_ = other.reused_;
    discard_ = other.discard_;
  }
  return *this;
}

Lease::~Lease() { Release(); }

void Lease::Release() {
  if (connection_ != nullptr) pool_->Return(std::move(connection_), discard_);
}

absl::StatusOr<std::unique_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (options.uri.empty()) {
    return absl::InvalidArgumentError(
        "no PostgreSQL connection string given (expected "
        "postgresql://user@host:port/database)");
  }
  if (options.max_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PostgreSQL pool size must be at least 1, got ", options.max_size));
  }
  if (options.acquire_timeout < absl::ZeroDuration() ||
      options.acquire_timeout == absl::InfiniteDuration() ||
      options.connect_timeout <= absl::ZeroDuration() ||
      options.connect_timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "PostgreSQL pool timeouts must be finite and positive");
  }
  absl::StatusOr<ParsedConnectionString> parsed =
      ParseConnectionString(options.uri, options.connect_timeout);
  if (!parsed.ok()) return parsed.status();
  return std::unique_ptr<Pool>(new Pool(std::move(options),
                                        std::move(parsed->connection_string),
                                        std::move(parsed->endpoint)));
}

Pool::Pool(PoolOptions options, std::string connection_string,
           std::string endpoint)
    : options_(std::move(options)),
      connection_string_(std::move(connection_string)),
      endpoint_(std::move(endpoint)) {}

Pool::~Pool() = default;

absl::StatusOr<Lease> Pool::Acquire() {
  return Acquire(options_.acquire_timeout);
}

absl::StatusOr<Lease> Pool::Acquire(absl::Duration timeout) {
  // Bounded so that the deadline below cannot overflow.
  timeout = std::min(timeout, absl::Hours(24));
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  std::unique_lock<std::mutex> lock(mutex_);
  const bool available = slot_freed_.wait_until(lock, deadline, [this] {
    return !idle_.empty() || open_ < options_.max_size;
  });
  if (!available) {
    return absl::DeadlineExceededError(absl::StrCat(
        "no PostgreSQL connection to ", endpoint_, " became free within ",
        absl::FormatDuration(timeout), ": all ", options_.max_size,
        " are in use; raise the pool size or find who holds them so long"));
  }
  if (!idle_.empty()) {
    std::unique_ptr<pqxx::connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(connection), /*reused=*/true);
  }
  // Reserve the slot, then connect without holding the lock: connecting
  // takes milliseconds to seconds and must not block other acquirers.
  ++open_;
  lock.unlock();
  absl::StatusOr<std::unique_ptr<pqxx::connection>> connection = Connect();
  if (!connection.ok()) {
    lock.lock();
    --open_;
    lock.unlock();
    slot_freed_.notify_one();
    return connection.status();
  }
  return Lease(this, *std::move(connection), /*reused=*/false);
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Pool::Connect() const {
  try {
    return std::make_unique<pqxx::connection>(connection_string_);
  } catch (...) {
    return StatusFromCurrentException(
        absl::StrCat("cannot connect to PostgreSQL at ", endpoint_));
  }
}

void Pool::Return(std::unique_ptr<pqxx::connection> connection, bool discard) {
  std::vector<std::unique_ptr<pqxx::connection>> to_close;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!discard && connection->is_open()) {
      idle_.push_back(std::move(connection));
      slot_freed_.notify_one();
      return;
    }
    // A dead connection usually means the others are dead too (server
    // restart, network cut), so drop the idle ones rather than hand them
    // out one failure at a time.
    to_close = std::move(idle_);
    idle_.clear();
    open_ -= 1 + static_cast<int>(to_close.size());
  }
  slot_freed_.notify_all();
  // `connection` and `to_close` are closed here, outside the lock.
}

absl::Status Pool::Ping() {
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<Lease> lease = Acquire();
    if (!lease.ok()) return lease.status();
    try {
      pqxx::nontransaction transaction(**lease);
      transaction.exec("SELECT 1");
      return absl::OkStatus();
    } catch (...) {
      lease->Discard();
      if (lease->reused() && attempt == 1) continue;
      return StatusFromCurrentException(
          absl::StrCat("PostgreSQL at ", endpoint_, " does not answer"));
    }
  }
}

Pool::Counts Pool::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return Counts{open_, static_cast<int>(idle_.size())};
}

}  // namespace kiln::db
