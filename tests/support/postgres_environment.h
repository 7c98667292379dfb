// GoogleTest glue: one PostgreSQL cluster per test binary, a fresh database
// per test.
//
//   class PostsTest : public kiln::testing::PostgresTest {};
//   TEST_F(PostsTest, Stores) {
//     auto pool = kiln::db::Pool::Create({database_uri()});
//     ...
//   }
//
// Linking kiln_test_postgres registers PostgresEnvironment, so a binary that
// uses PostgresTest needs no main() of its own.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tests/support/postgres_cluster.h"

namespace kiln::testing {

// Starts the binary's cluster before the first test and stops it after the
// last. A failure to start fails the run before any test.
class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;

  // The running cluster; only between SetUp and TearDown.
  static PostgresCluster& cluster();
};

// Gives each test an empty database of its own, dropped afterwards.
// Fixtures that override SetUp/TearDown must call these.
class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  static PostgresCluster& cluster() { return PostgresEnvironment::cluster(); }
  const std::string& database_name() const { return database_name_; }
  const std::string& database_uri() const { return database_uri_; }

 private:
  std::string database_name_;
  std::string database_uri_;
};

}  // namespace kiln::testing
