// What `kiln sweep` and `kiln sweeps show` print: the --grid flag read into
// an axis, the sweep's jobs ranked, and their table.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/v1/sweep.pb.h"

namespace kiln::cli {

// "learning_rate=1e-3,5e-3" -> {field, values}; the service parses the
// values by the field's type.
absl::StatusOr<kiln::v1::GridAxis> ParseGridFlag(const std::string& text);

// Positions in sweep.jobs, best first: the validation recall@1 of the epoch
// each job ships, then its test recall@1, then its id; a missing figure
// ranks below any present one.
std::vector<int> RankSweepJobs(const kiln::v1::GetSweepResponse& sweep);

// The best-ranked job that succeeded and published a version, or -1.
int BestSweepJob(const kiln::v1::GetSweepResponse& sweep, const std::vector<int>& ranking);

// A heading ("sweep-000007 rates: 2 of 4 jobs ended") and a row per job in
// ranking order: id, its grid values, state, epochs, best epoch,
// validation loss and recall@1, test recall@1, published version ("-" for
// what is not known yet).
std::string SweepTable(const kiln::v1::GetSweepResponse& sweep, const std::vector<int>& ranking);

}  // namespace kiln::cli
