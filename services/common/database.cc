#include "services/common/database.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/common/log.h"

namespace kiln {

absl::StatusOr<std::unique_ptr<db::Pool>> OpenDatabase(
    const DatabaseConfig& config, absl::string_view schema,
    const std::vector<db::Migration>& migrations) {
  db::PoolOptions options;
  options.uri = config.url;
  options.max_size = config.pool_size;
  absl::StatusOr<std::unique_ptr<db::Pool>> pool = db::Pool::Create(options);
  if (!pool.ok()) return pool.status();

  // In compose the database may still be starting: wait for it rather than
  // crash-looping.
  const absl::Time deadline = absl::Now() + absl::Seconds(config.connect_timeout_seconds);
  absl::Status ping = (*pool)->Ping();
  while (!ping.ok() && absl::Now() < deadline) {
    log::Info("waiting for PostgreSQL at ", (*pool)->endpoint(), ": ", ping.message());
    absl::SleepFor(absl::Seconds(1));
    ping = (*pool)->Ping();
  }
  if (!ping.ok()) return ping;

  absl::StatusOr<std::vector<int>> applied = db::ApplyMigrations(**pool, schema, migrations);
  if (!applied.ok()) {
    return absl::Status(applied.status().code(),
                        absl::StrCat("migrating schema ", schema, ": ", applied.status().message()));
  }
  if (applied->empty()) {
    log::Info("schema ", schema, " is up to date");
  } else {
    log::Info("schema ", schema, ": applied migrations ", absl::StrJoin(*applied, ", "));
  }
  return pool;
}

}  // namespace kiln
