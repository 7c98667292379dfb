// Every service schema migrates on a real PostgreSQL, re-migrating is a
// no-op, and each table round-trips a row under its constraints.
#include <pqxx/pqxx>

#include "gtest/gtest.h"
#include "services/common/db/migrations.h"
#include "services/data/data_migrations.h"
#include "services/evaluation/evaluation_migrations.h"
#include "services/preprocess/preprocess_migrations.h"
#include "services/registry/registry_migrations.h"
#include "services/training/training_migrations.h"
#include "tests/support/postgres_environment.h"

namespace kiln {
namespace {

constexpr char kHash[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class SchemasTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    auto pool = db::Pool::Create({database_uri()});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
  }
  void TearDown() override {
    pool_.reset();
    PostgresTest::TearDown();
  }

  void MigrateAll() {
    const std::pair<const char*, std::vector<db::Migration>> schemas[] = {
        {"data", data::Migrations()},
        {"preprocess", preprocess::Migrations()},
        {"training", training::Migrations()},
        {"evaluation", evaluation::Migrations()},
        {"registry", registry::Migrations()}};
    for (const auto& [schema, migrations] : schemas) {
      auto applied = db::ApplyMigrations(*pool_, schema, migrations);
      ASSERT_TRUE(applied.ok()) << schema << ": " << applied.status();
      EXPECT_EQ(applied->size(), migrations.size()) << schema;
      auto again = db::ApplyMigrations(*pool_, schema, migrations);
      ASSERT_TRUE(again.ok()) << schema << ": " << again.status();
      EXPECT_TRUE(again->empty()) << schema << " re-applied migrations";
    }
  }

  // Runs `sql` in its own transaction and returns the first column of the
  // first row, or the error text.
  std::string Exec(const std::string& sql) {
    auto lease = pool_->Acquire();
    EXPECT_TRUE(lease.ok());
    try {
      pqxx::work tx(**lease);
      pqxx::result result = tx.exec(sql);
      tx.commit();
      return result.empty() ? "" : result[0][0].c_str();
    } catch (const std::exception& error) {
      return std::string("ERROR: ") + error.what();
    }
  }

  std::unique_ptr<db::Pool> pool_;
};

TEST_F(SchemasTest, MigratesAndRoundTripsEveryTable) {
  MigrateAll();
  const std::string hash = std::string("'") + kHash + "'";

  EXPECT_EQ(Exec("INSERT INTO data.posts (content_hash, category, year, body, source) VALUES (" +
                 hash + ", 'sci.space', 1930, 'Orbit ✓', 'x/y') RETURNING body"),
            "Orbit ✓");
  EXPECT_EQ(Exec("SELECT count(*) FROM data.posts WHERE category = 'sci.space'"), "1");

  EXPECT_EQ(Exec("INSERT INTO preprocess.vocabularies (id, content_hash, spec_version, dataset, "
                 "options, size, post_count, words) VALUES ('voc-1', " + hash +
                 ", 'kiln-text-1', '{}', '{}', 4, 10, E'space\\norbit') RETURNING words"),
            "space\norbit");

  EXPECT_EQ(Exec("INSERT INTO training.jobs (model, spec, state, world_size, max_attempts) "
                 "VALUES ('news', '{\"epochs\": 3}', 'queued', 2, 3) RETURNING spec->>'epochs'"),
            "3");
  EXPECT_EQ(Exec("INSERT INTO training.workers (id, name, host, slots) VALUES "
                 "('w-1', 'worker-a', '127.0.0.1', 1) RETURNING name"),
            "worker-a");
  EXPECT_EQ(Exec("INSERT INTO training.leases (id, job_id, attempt, rank, worker_id, state, "
                 "expires_at) SELECT 'l-1', id, 1, 0, 'w-1', 'active', now() FROM training.jobs "
                 "RETURNING rank"),
            "0");
  EXPECT_EQ(Exec("INSERT INTO training.events (job_id, sequence, event) SELECT id, 1, "
                 "'{\"log\": {}}' FROM training.jobs RETURNING sequence"),
            "1");
  EXPECT_EQ(Exec("INSERT INTO training.checkpoints (job_id, epoch, sha256, size_bytes, data) "
                 "SELECT id, 1, " + hash + ", 3, '\\x010203' FROM training.jobs "
                 "RETURNING length(data)"),
            "3");

  EXPECT_EQ(Exec("INSERT INTO evaluation.reports (job_id, bundle_sha256, report) VALUES "
                 "('job-1', " + hash + ", '{\"recall_at_1\": 0.9}') RETURNING report->>'recall_at_1'"),
            "0.9");

  EXPECT_EQ(Exec("INSERT INTO registry.models (name) VALUES ('news') RETURNING name"), "news");
  EXPECT_EQ(Exec("INSERT INTO registry.blobs (sha256, size_bytes, data) VALUES (" + hash +
                 ", 2, '\\x0102') RETURNING size_bytes"),
            "2");
  EXPECT_EQ(Exec("INSERT INTO registry.versions (model, version, manifest_json, manifest_sha256, "
                 "size_bytes, weight_encoding, classes) VALUES ('news', 1, '{}', " + hash +
                 ", 2, 'float32', ARRAY['a','b']) RETURNING classes[2]"),
            "b");
  EXPECT_EQ(Exec("INSERT INTO registry.version_files (model, version, path, sha256) VALUES "
                 "('news', 1, 'model.json', " + hash + ") RETURNING path"),
            "model.json");
  EXPECT_EQ(Exec("INSERT INTO registry.aliases (model, name, version) VALUES "
                 "('news', 'production', 1) RETURNING version"),
            "1");
}

// The schemas' constraints are the last line of defence behind the edge
// validation: they must refuse what the services never write.
TEST_F(SchemasTest, ConstraintsRefuseBadRows) {
  MigrateAll();
  const std::string hash = std::string("'") + kHash + "'";
  EXPECT_NE(Exec("INSERT INTO data.posts (content_hash, category, year, body) VALUES (" + hash +
                 ", 'a', 10000, 'x')")
                .find("ERROR"),
            std::string::npos);
  EXPECT_NE(Exec("INSERT INTO data.posts (content_hash, category, year, body) VALUES "
                 "('not-a-hash', 'a', 1, 'x')")
                .find("ERROR"),
            std::string::npos);
  EXPECT_NE(Exec("INSERT INTO training.jobs (model, spec, state, world_size, max_attempts) VALUES "
                 "('m', '{}', 'sleeping', 1, 1)")
                .find("ERROR"),
            std::string::npos);
  // An alias keeps its version from being deleted.
  Exec("INSERT INTO registry.models (name) VALUES ('news')");
  Exec("INSERT INTO registry.versions (model, version, manifest_json, manifest_sha256, size_bytes, "
       "weight_encoding, classes) VALUES ('news', 1, '{}', " + hash + ", 2, 'float32', '{}')");
  Exec("INSERT INTO registry.aliases (model, name, version) VALUES ('news', 'production', 1)");
  EXPECT_NE(Exec("DELETE FROM registry.versions WHERE model = 'news' AND version = 1").find("ERROR"),
            std::string::npos);
  EXPECT_EQ(Exec("SELECT count(*) FROM registry.versions"), "1");
}

}  // namespace
}  // namespace kiln
