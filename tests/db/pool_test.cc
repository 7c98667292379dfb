#include "services/common/db/pool.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "services/common/db/transaction.h"
#include "tests/support/postgres_environment.h"

namespace kiln::db {
namespace {

class PoolTest : public kiln::testing::PostgresTest {
 protected:
  std::unique_ptr<Pool> NewPool(int max_size) {
    PoolOptions options;
    options.uri = database_uri();
    options.max_size = max_size;
    absl::StatusOr<std::unique_ptr<Pool>> pool = Pool::Create(options);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  // Kills a backend from outside, as an administrator or a crash would.
  void TerminateBackend(int pid) {
    pqxx::connection admin(cluster().UriFor("postgres"));
    pqxx::nontransaction transaction(admin);
    EXPECT_TRUE(
        transaction.exec_params1("SELECT pg_terminate_backend($1)", pid)[0]
            .as<bool>());
  }
};

int BackendPid(Lease& lease) {
  pqxx::nontransaction transaction(*lease);
  return transaction.exec1("SELECT pg_backend_pid()")[0].as<int>();
}

TEST_F(PoolTest, ReturnedConnectionIsReused) {
  std::unique_ptr<Pool> pool = NewPool(2);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->counts().open, 0) << "connections must open lazily";

  int first_pid = 0;
  {
    absl::StatusOr<Lease> lease = pool->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_FALSE(lease->reused());
    first_pid = BackendPid(*lease);
    EXPECT_EQ(pool->counts().open, 1);
    EXPECT_EQ(pool->counts().idle, 0);
  }
  EXPECT_EQ(pool->counts().idle, 1);

  absl::StatusOr<Lease> lease = pool->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE(lease->reused());
  EXPECT_EQ(BackendPid(*lease), first_pid);
  EXPECT_EQ(pool->counts().open, 1);
}

TEST_F(PoolTest, AcquireTimesOutWhenAllConnectionsAreLeased) {
  std::unique_ptr<Pool> pool = NewPool(1);
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<Lease> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();

  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Lease> second = pool->Acquire(absl::Milliseconds(200));
  const auto waited = std::chrono::steady_clock::now() - start;

  EXPECT_TRUE(absl::IsDeadlineExceeded(second.status())) << second.status();
  EXPECT_NE(second.status().message().find("all 1 are in use"),
            absl::string_view::npos)
      << second.status();
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST_F(PoolTest, WaitingAcquireGetsTheReturnedConnection) {
  std::unique_ptr<Pool> pool = NewPool(1);
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<Lease> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();

  std::thread returner([&held] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Lease returned = *std::move(held);
  });
  absl::StatusOr<Lease> second = pool->Acquire(absl::Seconds(10));
  returner.join();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->reused());
}

TEST_F(PoolTest, ConcurrentUsersNeverOpenMoreThanMaxSize) {
  constexpr int kMaxSize = 3;
  std::unique_ptr<Pool> pool = NewPool(kMaxSize);
  ASSERT_NE(pool, nullptr);
  std::atomic<int> most_backends_seen{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        int backends = 0;
        absl::Status status = RunInTransaction(*pool, [&](pqxx::work& tx) {
          backends = tx.exec1(
                           "SELECT count(*) FROM pg_stat_activity "
                           "WHERE datname = current_database()")[0]
                         .as<int>();
          return absl::OkStatus();
        });
        if (!status.ok()) ++failures;
        int seen = most_backends_seen.load();
        while (backends > seen &&
               !most_backends_seen.compare_exchange_weak(seen, backends)) {
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(most_backends_seen.load(), kMaxSize);
  EXPECT_LE(pool->counts().open, kMaxSize);
}

TEST_F(PoolTest, KilledConnectionIsReplaced) {
  std::unique_ptr<Pool> pool = NewPool(2);
  ASSERT_NE(pool, nullptr);
  int killed_pid = 0;
  {
    absl::StatusOr<Lease> lease = pool->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    killed_pid = BackendPid(*lease);
  }
  TerminateBackend(killed_pid);

  // The idle connection is dead now; the pool must notice and reconnect.
  EXPECT_TRUE(pool->Ping().ok());
  absl::StatusOr<Lease> lease = pool->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_NE(BackendPid(*lease), killed_pid);
}

TEST_F(PoolTest, LeasedConnectionKilledMidUseIsNotReturnedToThePool) {
  std::unique_ptr<Pool> pool = NewPool(1);
  ASSERT_NE(pool, nullptr);
  int killed_pid = 0;
  {
    absl::StatusOr<Lease> lease = pool->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    killed_pid = BackendPid(*lease);
    TerminateBackend(killed_pid);
    // Used without RunInTransaction and without Discard(): the pool must
    // still see that the connection is dead when it comes back.
    EXPECT_ANY_THROW(BackendPid(*lease));
  }
  absl::StatusOr<Lease> lease = pool->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_FALSE(lease->reused());
  EXPECT_NE(BackendPid(*lease), killed_pid);
}

TEST_F(PoolTest, RecoversAfterServerRestart) {
  std::unique_ptr<Pool> pool = NewPool(3);
  ASSERT_NE(pool, nullptr);
  {
    // Fill the pool with connections that the restart will kill.
    std::vector<Lease> leases;
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<Lease> lease = pool->Acquire();
      ASSERT_TRUE(lease.ok()) << lease.status();
      leases.push_back(*std::move(lease));
    }
  }
  ASSERT_EQ(pool->counts().idle, 3);

  ASSERT_TRUE(cluster().Halt().ok());
  absl::Status down = pool->Ping();
  EXPECT_TRUE(absl::IsUnavailable(down)) << down;
  EXPECT_NE(down.message().find(absl::StrCat("127.0.0.1:", cluster().port())),
            absl::string_view::npos)
      << "the message must say which server is down: " << down;

  ASSERT_TRUE(cluster().Resume().ok());
  absl::Status up = pool->Ping();
  EXPECT_TRUE(up.ok()) << up;
  absl::Status work = RunInTransaction(*pool, [](pqxx::work& tx) {
    tx.exec0("CREATE TABLE after_restart (id int)");
    return absl::OkStatus();
  });
  EXPECT_TRUE(work.ok()) << work;
}

TEST_F(PoolTest, UnreachableServerIsUnavailableAndNamed) {
  PoolOptions options;
  // Port 1 on localhost: nothing listens there, the connection is refused.
  options.uri = "postgresql://postgres@127.0.0.1:1/nowhere";
  absl::StatusOr<std::unique_ptr<Pool>> pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status() << " (Create must not connect)";
  absl::StatusOr<Lease> lease = (*pool)->Acquire();
  EXPECT_TRUE(absl::IsUnavailable(lease.status())) << lease.status();
  EXPECT_NE(lease.status().message().find(
                "cannot connect to PostgreSQL at 127.0.0.1:1/nowhere"),
            absl::string_view::npos)
      << lease.status();
  EXPECT_EQ((*pool)->counts().open, 0) << "a failed connect frees its slot";
}

TEST(PoolOptionsTest, BadOptionsAreInvalidArgument) {
  PoolOptions bad_uri;
  bad_uri.uri = "postgresql://[::1";
  EXPECT_TRUE(absl::IsInvalidArgument(Pool::Create(bad_uri).status()));

  PoolOptions empty_pool;
  empty_pool.uri = "postgresql://localhost/db";
  empty_pool.max_size = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(Pool::Create(empty_pool).status()));

  PoolOptions no_uri;
  EXPECT_TRUE(absl::IsInvalidArgument(Pool::Create(no_uri).status()));
}

}  // namespace
}  // namespace kiln::db
