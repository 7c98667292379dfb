#include "services/common/db/migrations.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/db/status.h"

namespace kiln::db {
namespace {

// SQL for the checksum of the text in query parameter `param`. Computed by
// PostgreSQL so that the C++ side needs no hashing library.
std::string ChecksumOfParameter(int param) {
  return absl::StrCat("encode(sha256(convert_to($", param,
                      ", 'UTF8')), 'hex')");
}

absl::Status ValidateSchemaName(absl::string_view schema) {
  const bool valid =
      !schema.empty() && schema.size() <= 63 &&
      (absl::ascii_islower(schema[0]) || schema[0] == '_') &&
      !absl::StartsWith(schema, "pg_") &&
      std::all_of(schema.begin(), schema.end(), [](char c) {
        return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
      });
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("schema name '", schema,
                   "' must match [a-z_][a-z0-9_]* (at most 63 characters, "
                   "not starting with pg_)"));
}

absl::Status ValidateMigrations(absl::string_view schema,
                                const std::vector<Migration>& migrations) {
  int previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= previous) {
      return absl::InvalidArgumentError(absl::StrCat(
          "migrations of schema ", schema,
          " must have positive, strictly ascending versions; got ",
          migration.version, " (", migration.name, ") after ", previous));
    }
    previous = migration.version;
  }
  return absl::OkStatus();
}

std::string Describe(absl::string_view schema, const Migration& migration) {
  return absl::StrCat("migration ", schema, "/", migration.version, " (",
                      migration.name, ")");
}

// 64-bit FNV-1a: a stable key, the same in every replica and release.
int64_t AdvisoryLockKey(absl::string_view schema) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : absl::StrCat("kiln.migrations.", schema)) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<int64_t>(hash);
}

// The part of ApplyMigrations that runs while holding the schema's lock.
absl::StatusOr<std::vector<int>> ApplyLocked(
    pqxx::connection& connection, absl::string_view schema,
    const std::vector<Migration>& migrations) {
  const std::string quoted_schema = connection.quote_name(std::string(schema));
  const std::string table = quoted_schema + ".schema_migrations";
  try {
    pqxx::work transaction(connection);
    transaction.exec0("CREATE SCHEMA IF NOT EXISTS " + quoted_schema);
    transaction.exec0("CREATE TABLE IF NOT EXISTS " + table +
                      " (version integer PRIMARY KEY,"
                      " name text NOT NULL,"
                      " checksum text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())");
    transaction.commit();
  } catch (...) {
    return StatusFromCurrentException(
        absl::StrCat("creating schema ", schema, " and its migrations table"));
  }

  std::vector<const Migration*> pending;
  int latest_applied = 0;
  try {
    pqxx::work transaction(connection);
    std::map<int, std::string> applied_checksums;
    for (const pqxx::row& row :
         transaction.exec("SELECT version, checksum FROM " + table)) {
      applied_checksums[row[0].as<int>()] = row[1].as<std::string>();
    }
    if (!applied_checksums.empty()) {
      latest_applied = applied_checksums.rbegin()->first;
    }
    for (const Migration& migration : migrations) {
      const auto applied = applied_checksums.find(migration.version);
      if (applied == applied_checksums.end()) {
        pending.push_back(&migration);
        continue;
      }
      const std::string checksum =
          transaction
              .exec_params1("SELECT " + ChecksumOfParameter(1),
                            migration.sql)[0]
              .as<std::string>();
      if (checksum != applied->second) {
        return absl::FailedPreconditionError(absl::StrCat(
            Describe(schema, migration),
            " was changed after it was applied (checksum ", applied->second,
            " in ", schema, ".schema_migrations, ", checksum,
            " now); never edit an applied migration, add a new one"));
      }
    }
  } catch (...) {
    return StatusFromCurrentException(
        absl::StrCat("reading the applied migrations of schema ", schema));
  }
  if (!pending.empty() && pending.front()->version < latest_applied) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(schema, *pending.front()),
        " is not applied but the later version ", latest_applied,
        " is; give new migrations versions above ", latest_applied));
  }

  std::vector<int> applied_now;
  for (const Migration* migration : pending) {
    try {
      pqxx::work transaction(connection);
      transaction.exec0("SET LOCAL search_path TO " + quoted_schema +
                        ", public");
      transaction.exec(migration->sql);
      transaction.exec_params0(
          absl::StrCat("INSERT INTO ", table,
                       " (version, name, checksum) VALUES ($1, $2, ",
                       ChecksumOfParameter(3), ")"),
          migration->version, migration->name, migration->sql);
      transaction.commit();
    } catch (...) {
      const int current =
          applied_now.empty() ? latest_applied : applied_now.back();
      return StatusFromCurrentException(absl::StrCat(
          Describe(schema, *migration), " failed and was rolled back; schema ",
          schema, " stays at version ", current));
    }
    applied_now.push_back(migration->version);
  }
  return applied_now;
}

}  // namespace

absl::StatusOr<std::vector<int>> ApplyMigrations(
    Pool& pool, absl::string_view schema,
    const std::vector<Migration>& migrations) {
  if (absl::Status status = ValidateSchemaName(schema); !status.ok()) {
    return status;
  }
  if (absl::Status status = ValidateMigrations(schema, migrations);
      !status.ok()) {
    return status;
  }
  absl::StatusOr<Lease> lease = pool.Acquire();
  if (!lease.ok()) return lease.status();

  // A session-level lock (not a per-transaction one) so that the state read
  // at the start stays true across the separate migration transactions.
  const int64_t lock_key = AdvisoryLockKey(schema);
  try {
    pqxx::nontransaction(**lease).exec_params1(
        "SELECT pg_advisory_lock($1::bigint)", lock_key);
  } catch (...) {
    lease->Discard();
    return StatusFromCurrentException(
        absl::StrCat("locking schema ", schema, " for migration"));
  }
  absl::StatusOr<std::vector<int>> applied =
      ApplyLocked(**lease, schema, migrations);
  try {
    pqxx::nontransaction(**lease).exec_params1(
        "SELECT pg_advisory_unlock($1::bigint)", lock_key);
  } catch (...) {
    // Closing the session releases the lock just as well.
    lease->Discard();
  }
  return applied;
}

}  // namespace kiln::db
