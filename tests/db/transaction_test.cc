#include "services/common/db/transaction.h"

#include <stdexcept>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include "services/common/db/pool.h"
#include "tests/support/postgres_environment.h"

namespace kiln::db {
namespace {

class TransactionTest : public kiln::testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    PoolOptions options;
    options.uri = database_uri();
    options.max_size = 2;
    absl::StatusOr<std::unique_ptr<Pool>> pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    Execute(
        "CREATE TABLE owners (id int PRIMARY KEY);"
        "CREATE TABLE pets ("
        "  id int PRIMARY KEY,"
        "  owner int REFERENCES owners (id),"
        "  legs int NOT NULL CHECK (legs >= 0));"
        "CREATE TABLE counters (id int PRIMARY KEY, value int NOT NULL);"
        "INSERT INTO owners VALUES (1);"
        "INSERT INTO counters VALUES (1, 0);");
  }

  // Runs SQL on a connection of its own, outside the pool under test.
  void Execute(const std::string& sql) {
    pqxx::connection connection(database_uri());
    pqxx::nontransaction(connection).exec(sql);
  }

  int Query(const std::string& sql) {
    pqxx::connection connection(database_uri());
    return pqxx::nontransaction(connection).exec1(sql)[0].as<int>();
  }

  absl::Status Run(const std::string& sql) {
    return RunInTransaction(*pool_, [&](pqxx::work& tx) {
      tx.exec(sql);
      return absl::OkStatus();
    });
  }

  std::unique_ptr<Pool> pool_;
};

TEST_F(TransactionTest, CommitsWhenTheBodySucceeds) {
  EXPECT_TRUE(Run("INSERT INTO pets VALUES (1, 1, 4)").ok());
  EXPECT_EQ(Query("SELECT count(*) FROM pets"), 1);
}

TEST_F(TransactionTest, RollsBackAndReturnsTheBodysError) {
  absl::Status status = RunInTransaction(*pool_, [](pqxx::work& tx) {
    tx.exec0("INSERT INTO pets VALUES (1, 1, 4)");
    return absl::InvalidArgumentError("changed my mind");
  });
  EXPECT_EQ(status, absl::InvalidArgumentError("changed my mind"));
  EXPECT_EQ(Query("SELECT count(*) FROM pets"), 0);
}

TEST_F(TransactionTest, UniqueViolationIsAlreadyExists) {
  ASSERT_TRUE(Run("INSERT INTO pets VALUES (1, 1, 4)").ok());
  absl::Status status = Run("INSERT INTO pets VALUES (1, 1, 3)");
  EXPECT_TRUE(absl::IsAlreadyExists(status)) << status;
  EXPECT_NE(status.message().find("pets_pkey"), absl::string_view::npos)
      << "the message must name the constraint: " << status;
  EXPECT_NE(status.message().find("SQLSTATE 23505"), absl::string_view::npos)
      << status;
  EXPECT_EQ(Query("SELECT legs FROM pets WHERE id = 1"), 4);
}

TEST_F(TransactionTest, ForeignKeyViolationIsFailedPrecondition) {
  absl::Status status = Run("INSERT INTO pets VALUES (1, 42, 4)");
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
}

TEST_F(TransactionTest, CheckAndNotNullViolationsAreInvalidArgument) {
  absl::Status negative_legs = Run("INSERT INTO pets VALUES (1, 1, -1)");
  EXPECT_TRUE(absl::IsInvalidArgument(negative_legs)) << negative_legs;
  absl::Status no_legs = Run("INSERT INTO pets VALUES (1, 1, NULL)");
  EXPECT_TRUE(absl::IsInvalidArgument(no_legs)) << no_legs;
}

TEST_F(TransactionTest, SyntaxErrorIsInternal) {
  absl::Status status = Run("SELEKT 1");
  EXPECT_TRUE(absl::IsInternal(status)) << status;
}

TEST_F(TransactionTest, ExceptionFromTheBodyIsInternalAndRollsBack) {
  absl::Status status =
      RunInTransaction(*pool_, [](pqxx::work& tx) -> absl::Status {
        tx.exec0("INSERT INTO pets VALUES (1, 1, 4)");
        throw std::runtime_error("bug in the body");
      });
  EXPECT_TRUE(absl::IsInternal(status)) << status;
  EXPECT_NE(status.message().find("bug in the body"), absl::string_view::npos);
  EXPECT_EQ(Query("SELECT count(*) FROM pets"), 0);
}

// The first attempt reads the counter, then another connection updates it
// and commits, then the attempt writes it: under REPEATABLE READ PostgreSQL
// refuses with a serialization failure (40001) and the helper must retry.
TEST_F(TransactionTest, RetriesSerializationFailures) {
  int attempts = 0;
  TransactionOptions options;
  options.isolation = Isolation::kRepeatableRead;
  absl::Status status = RunInTransaction(
      *pool_,
      [&](pqxx::work& tx) {
        ++attempts;
        const int value =
            tx.exec1("SELECT value FROM counters WHERE id = 1")[0].as<int>();
        if (attempts == 1) {
          Execute("UPDATE counters SET value = value + 100 WHERE id = 1");
        }
        tx.exec_params0("UPDATE counters SET value = $1 WHERE id = 1",
                        value + 1);
        return absl::OkStatus();
      },
      options);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(Query("SELECT value FROM counters WHERE id = 1"), 101);
}

TEST_F(TransactionTest, GivesUpAfterMaxAttemptsWithAborted) {
  int attempts = 0;
  TransactionOptions options;
  options.isolation = Isolation::kSerializable;
  options.max_attempts = 3;
  absl::Status status = RunInTransaction(
      *pool_,
      [&](pqxx::work& tx) {
        ++attempts;
        tx.exec1("SELECT value FROM counters WHERE id = 1");
        Execute("UPDATE counters SET value = value + 1 WHERE id = 1");
        tx.exec0("UPDATE counters SET value = 0 WHERE id = 1");
        return absl::OkStatus();
      },
      options);
  EXPECT_TRUE(absl::IsAborted(status)) << status;
  EXPECT_NE(status.message().find("gave up after 3 attempts"),
            absl::string_view::npos)
      << status;
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(Query("SELECT value FROM counters WHERE id = 1"), 3);
}

// A connection lost before COMMIT leaves nothing behind, so the helper
// retries on a new connection.
TEST_F(TransactionTest, RetriesOnANewConnectionWhenTheFirstIsKilled) {
  int attempts = 0;
  absl::Status status = RunInTransaction(*pool_, [&](pqxx::work& tx) {
    ++attempts;
    tx.exec0("INSERT INTO pets VALUES (1, 1, 4)");
    if (attempts == 1) {
      const int pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
      Execute("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    }
    tx.exec0("INSERT INTO pets VALUES (2, 1, 3)");
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(Query("SELECT count(*) FROM pets"), 2);
}

}  // namespace
}  // namespace kiln::db
