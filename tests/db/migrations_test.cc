#include "services/common/db/migrations.h"

#include <algorithm>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "services/common/db/pool.h"
#include "tests/db/kiln_test_migrations.h"
#include "tests/support/postgres_environment.h"

namespace kiln::db {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kSchema[] = "shop";

std::vector<Migration> ShopMigrations() {
  return {
      {1, "create_items", "CREATE TABLE items (id int PRIMARY KEY, name text)"},
      {2, "add_price", "ALTER TABLE items ADD COLUMN price int DEFAULT 0"},
  };
}

class MigrationsTest : public kiln::testing::PostgresTest {
 protected:
  std::unique_ptr<Pool> NewPool() {
    PoolOptions options;
    options.uri = database_uri();
    absl::StatusOr<std::unique_ptr<Pool>> pool = Pool::Create(options);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  void SetUp() override {
    PostgresTest::SetUp();
    pool_ = NewPool();
    ASSERT_NE(pool_, nullptr);
  }

  pqxx::result Query(const std::string& sql) {
    pqxx::connection connection(database_uri());
    return pqxx::nontransaction(connection).exec(sql);
  }

  std::vector<int> AppliedVersions(const std::string& schema) {
    std::vector<int> versions;
    for (const pqxx::row& row : Query("SELECT version FROM " + schema +
                                      ".schema_migrations ORDER BY version")) {
      versions.push_back(row[0].as<int>());
    }
    return versions;
  }

  bool TableExists(const std::string& qualified_name) {
    return !Query("SELECT to_regclass('" + qualified_name + "')")[0][0]
                .is_null();
  }

  std::unique_ptr<Pool> pool_;
};

TEST_F(MigrationsTest, AppliesAllInOrderAndRecordsThem) {
  absl::StatusOr<std::vector<int>> applied =
      ApplyMigrations(*pool_, kSchema, ShopMigrations());
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_THAT(*applied, ElementsAre(1, 2));

  Query("INSERT INTO shop.items (id, name, price) VALUES (7, 'kiln', 1200)");
  pqxx::result items = Query("SELECT id, name, price FROM shop.items");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0][0].as<int>(), 7);
  EXPECT_EQ(items[0][1].as<std::string>(), "kiln");
  EXPECT_EQ(items[0][2].as<int>(), 1200);

  pqxx::result recorded = Query(
      "SELECT version, name, checksum, applied_at <= now() "
      "FROM shop.schema_migrations ORDER BY version");
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[0][1].as<std::string>(), "create_items");
  EXPECT_EQ(recorded[1][1].as<std::string>(), "add_price");
  EXPECT_EQ(recorded[0][2].as<std::string>().size(), 64u) << "hex sha256";
  EXPECT_NE(recorded[0][2].as<std::string>(), recorded[1][2].as<std::string>());
  EXPECT_TRUE(recorded[0][3].as<bool>());
}

TEST_F(MigrationsTest, RerunIsANoOp) {
  ASSERT_TRUE(ApplyMigrations(*pool_, kSchema, ShopMigrations()).ok());
  Query("INSERT INTO shop.items (id) VALUES (1)");

  absl::StatusOr<std::vector<int>> again =
      ApplyMigrations(*pool_, kSchema, ShopMigrations());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(*again, IsEmpty());
  EXPECT_THAT(AppliedVersions(kSchema), ElementsAre(1, 2));
  EXPECT_EQ(Query("SELECT count(*) FROM shop.items")[0][0].as<int>(), 1);
}

TEST_F(MigrationsTest, AppliesOnlyTheNewOnes) {
  std::vector<Migration> migrations = ShopMigrations();
  const Migration second = migrations.back();
  migrations.pop_back();
  ASSERT_TRUE(ApplyMigrations(*pool_, kSchema, migrations).ok());

  migrations.push_back(second);
  absl::StatusOr<std::vector<int>> applied =
      ApplyMigrations(*pool_, kSchema, migrations);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_THAT(*applied, ElementsAre(2));
}

TEST_F(MigrationsTest, RefusesAnAppliedMigrationWhoseSqlChanged) {
  ASSERT_TRUE(ApplyMigrations(*pool_, kSchema, ShopMigrations()).ok());
  std::vector<Migration> edited = ShopMigrations();
  edited[0].sql += " -- tweaked";
  edited.push_back({3, "add_stock", "ALTER TABLE items ADD COLUMN stock int"});

  absl::StatusOr<std::vector<int>> applied =
      ApplyMigrations(*pool_, kSchema, edited);
  EXPECT_TRUE(absl::IsFailedPrecondition(applied.status())) << applied.status();
  EXPECT_THAT(applied.status().message(),
              HasSubstr("migration shop/1 (create_items) was changed"));
  EXPECT_THAT(AppliedVersions(kSchema), ElementsAre(1, 2))
      << "nothing may be applied after a refused check";
}

TEST_F(MigrationsTest, FailingMigrationRollsBackAndKeepsThePreviousVersion) {
  std::vector<Migration> migrations = ShopMigrations();
  migrations.push_back({3, "broken",
                        "CREATE TABLE stock (item int);"
                        "INSERT INTO no_such_table VALUES (1);"});

  absl::StatusOr<std::vector<int>> applied =
      ApplyMigrations(*pool_, kSchema, migrations);
  ASSERT_FALSE(applied.ok());
  EXPECT_THAT(applied.status().message(),
              HasSubstr("migration shop/3 (broken) failed and was rolled "
                        "back; schema shop stays at version 2"));
  EXPECT_THAT(applied.status().message(), HasSubstr("no_such_table"));
  EXPECT_THAT(AppliedVersions(kSchema), ElementsAre(1, 2));
  EXPECT_FALSE(TableExists("shop.stock")) << "the failed migration's first "
                                             "statement must be rolled back";

  migrations.back().sql = "CREATE TABLE stock (item int);";
  applied = ApplyMigrations(*pool_, kSchema, migrations);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_THAT(*applied, ElementsAre(3));
  EXPECT_TRUE(TableExists("shop.stock"));
}

// Two replicas starting at once, each with its own pool. The migrations are
// slow and not idempotent (CREATE TABLE without IF NOT EXISTS, a log row per
// run), so applying one twice would either fail or leave two rows.
TEST_F(MigrationsTest, ConcurrentRunsApplyEachMigrationExactlyOnce) {
  std::vector<Migration> migrations;
  for (int version = 1; version <= 4; ++version) {
    const std::string v = std::to_string(version);
    migrations.push_back(
        {version, "step_" + v,
         (version == 1 ? "CREATE TABLE log (version int);" : "") +
             std::string("SELECT pg_sleep(0.05);") + "CREATE TABLE t" + v +
             " (id int);" + "INSERT INTO log VALUES (" + v + ");"});
  }
  std::unique_ptr<Pool> other_pool = NewPool();
  ASSERT_NE(other_pool, nullptr);

  absl::StatusOr<std::vector<int>> first, second;
  std::thread replica_a(
      [&] { first = ApplyMigrations(*pool_, "race", migrations); });
  std::thread replica_b(
      [&] { second = ApplyMigrations(*other_pool, "race", migrations); });
  replica_a.join();
  replica_b.join();

  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  std::vector<int> all = *first;
  all.insert(all.end(), second->begin(), second->end());
  EXPECT_THAT(all, UnorderedElementsAre(1, 2, 3, 4));
  pqxx::result log = Query("SELECT version FROM race.log ORDER BY version");
  ASSERT_EQ(log.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(log[i][0].as<int>(), i + 1);
}

TEST_F(MigrationsTest, RefusesAGapBelowTheLatestAppliedVersion) {
  std::vector<Migration> migrations = ShopMigrations();
  migrations.push_back({3, "add_stock", "ALTER TABLE items ADD stock int"});
  const Migration second = migrations[1];
  migrations.erase(migrations.begin() + 1);
  ASSERT_TRUE(ApplyMigrations(*pool_, kSchema, migrations).ok());

  migrations.insert(migrations.begin() + 1, second);
  absl::StatusOr<std::vector<int>> applied =
      ApplyMigrations(*pool_, kSchema, migrations);
  EXPECT_TRUE(absl::IsFailedPrecondition(applied.status())) << applied.status();
  EXPECT_THAT(applied.status().message(),
              HasSubstr("migration shop/2 (add_price) is not applied"));
}

TEST_F(MigrationsTest, RejectsBadSchemaNamesAndUnorderedVersions) {
  EXPECT_TRUE(absl::IsInvalidArgument(
      ApplyMigrations(*pool_, "Bad-Name", ShopMigrations()).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ApplyMigrations(*pool_, "pg_catalog", ShopMigrations()).status()));
  std::vector<Migration> reversed = ShopMigrations();
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_TRUE(absl::IsInvalidArgument(
      ApplyMigrations(*pool_, kSchema, reversed).status()));
  EXPECT_FALSE(TableExists("shop.schema_migrations"));
}

// tests/db/migrations/*.sql, embedded by kiln_embed_migrations.
TEST_F(MigrationsTest, EmbeddedSqlFilesApply) {
  const std::vector<Migration> embedded = kiln::kiln_test::Migrations();
  ASSERT_EQ(embedded.size(), 2u);
  EXPECT_EQ(embedded[0].version, 1);
  EXPECT_EQ(embedded[0].name, "create_notes");
  EXPECT_EQ(embedded[1].version, 2);
  EXPECT_EQ(embedded[1].name, "add_note_tag");
  EXPECT_THAT(embedded[0].sql, HasSubstr("CREATE TABLE notes"));

  absl::StatusOr<std::vector<int>> applied =
      ApplyMigrations(*pool_, "kiln_test", embedded);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_THAT(*applied, ElementsAre(1, 2));
  Query("INSERT INTO kiln_test.notes (body) VALUES ('hello')");
  EXPECT_EQ(Query("SELECT tag FROM kiln_test.notes")[0][0].as<std::string>(),
            "untagged");
}

}  // namespace
}  // namespace kiln::db
