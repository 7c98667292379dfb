// Versioned schema migrations, one set per service schema.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/db/pool.h"

namespace kiln::db {

struct Migration {
  int version = 0;  // positive; a schema's migrations apply in this order
  std::string name;
  // Runs inside one transaction with search_path set to the schema, so it
  // may name its tables without the schema. It must not contain BEGIN/COMMIT
  // or statements that cannot run in a transaction (CREATE INDEX
  // CONCURRENTLY).
  std::string sql;
};

// Brings `schema` up to date: creates it and its schema_migrations table
// (version, name, checksum, applied_at) if missing, then applies, in
// version order and each in its own transaction, the migrations not applied
// yet. Returns the versions it applied (empty when already up to date).
//
// Safe when several replicas start at once: the whole run holds a
// PostgreSQL advisory lock keyed by the schema name, so each migration is
// applied exactly once and the others wait until the schema is ready.
//
// Errors:
//   InvalidArgument     bad schema name; versions not positive and ascending
//   FailedPrecondition  an applied migration's SQL was changed since (the
//                       checksums differ), or a migration is missing below
//                       the latest applied version
//   other               a migration failed (message names it; it was rolled
//                       back and the ones before it stay applied), or the
//                       database could not be reached
// Applied versions the caller does not know are ignored: an older replica
// may run against a schema a newer one already migrated.
absl::StatusOr<std::vector<int>> ApplyMigrations(
    Pool& pool, absl::string_view schema,
    const std::vector<Migration>& migrations);

}  // namespace kiln::db
