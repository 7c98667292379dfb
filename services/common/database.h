// Start-up of a service that owns a PostgreSQL schema: connect (waiting for
// the server to come up), then bring the schema up to date.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/config.h"
#include "services/common/db/migrations.h"
#include "services/common/db/pool.h"

namespace kiln {

absl::StatusOr<std::unique_ptr<db::Pool>> OpenDatabase(
    const DatabaseConfig& config, absl::string_view schema,
    const std::vector<db::Migration>& migrations);

}  // namespace kiln
