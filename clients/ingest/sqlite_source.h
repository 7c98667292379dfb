// The seed article's SQLite database: table `news` with columns Data (the
// post), Category and Year.
#pragma once

#include "clients/ingest/post_source.h"

namespace kiln::ingest {

absl::StatusOr<std::unique_ptr<PostSource>> OpenSqliteSource(const std::string& path);

}  // namespace kiln::ingest
