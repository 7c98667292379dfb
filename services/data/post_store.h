// The posts table (schema `data`): the data service's logic, free of gRPC.
#pragma once

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/v1/data.pb.h"
#include "services/common/db/pool.h"

namespace kiln::data {

class PostStore {
 public:
  explicit PostStore(db::Pool& pool) : pool_(pool) {}

  struct ImportOutcome {
    int64_t imported = 0;
    int64_t skipped = 0;
  };
  // Stores already validated posts in one transaction: all of them or, on
  // error, none. Posts whose content hash is stored already are skipped.
  absl::StatusOr<ImportOutcome> ImportBatch(const std::vector<const kiln::v1::PostInput*>& posts);
  // ANALYZE after an import: without fresh statistics (autovacuum's come a
  // minute or more later) the planner takes a grown table for a few rows
  // and pages a query by sorting every remaining match for every page,
  // quadratic in the posts a job reads (bench/scale/README.md).
  absl::Status RefreshStatistics();

  // Pages through the matching posts in id order, calling `on_page` for
  // each non-empty page until it returns false or the posts run out.
  // The request must have been validated.
  absl::Status Query(const kiln::v1::QueryPostsRequest& request,
                     const std::function<bool(kiln::v1::QueryPostsResponse&)>& on_page);

  absl::StatusOr<kiln::v1::CountPostsResponse> Count(const kiln::v1::DatasetSpec& dataset);

  absl::StatusOr<kiln::v1::GetStatsResponse> Stats();

 private:
  db::Pool& pool_;
};

}  // namespace kiln::data
