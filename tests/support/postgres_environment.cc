#include "tests/support/postgres_environment.h"

#include <cstdlib>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"

namespace kiln::testing {
namespace {

std::unique_ptr<PostgresCluster> shared_cluster;

// Registered during static initialization, which runs because the test
// refers to PostgresTest or PostgresEnvironment, both defined in this file.
[[maybe_unused]] ::testing::Environment* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

}  // namespace

void PostgresEnvironment::SetUp() {
  absl::StatusOr<std::unique_ptr<PostgresCluster>> cluster =
      PostgresCluster::Start();
  ASSERT_TRUE(cluster.ok())
      << "cannot start the test PostgreSQL cluster: " << cluster.status();
  shared_cluster = *std::move(cluster);
}

void PostgresEnvironment::TearDown() { shared_cluster.reset(); }

PostgresCluster& PostgresEnvironment::cluster() {
  if (shared_cluster == nullptr) {
    std::cerr << "kiln::testing::PostgresEnvironment::cluster() called while "
                 "no cluster is running (outside the test run?)\n";
    std::abort();
  }
  return *shared_cluster;
}

void PostgresTest::SetUp() {
  const ::testing::TestInfo* test =
      ::testing::UnitTest::GetInstance()->current_test_info();
  absl::StatusOr<std::string> name = cluster().CreateDatabase(
      absl::StrCat(test->test_suite_name(), "_", test->name()));
  ASSERT_TRUE(name.ok()) << name.status();
  database_name_ = *name;
  database_uri_ = cluster().UriFor(database_name_);
}

void PostgresTest::TearDown() {
  if (database_name_.empty()) return;
  // A test that halted the server and failed before resuming it would make
  // every later test fail too; bring it back first.
  absl::Status resumed = cluster().Resume();
  EXPECT_TRUE(resumed.ok()) << resumed;
  absl::Status dropped = cluster().DropDatabase(database_name_);
  EXPECT_TRUE(dropped.ok()) << dropped;
}

}  // namespace kiln::testing
