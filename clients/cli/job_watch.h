// Following a training job: prints its events as they arrive (a progress
// bar within each epoch, a line per epoch) until the job ends.
#pragma once

#include <string>

#include "clients/cli/cli_context.h"

namespace kiln::cli {

// Exit codes shared by the job commands.
constexpr int kExitJobFailed = 1;
constexpr int kExitJobCancelled = 4;

// Watches `job_id` to its end; returns 0 when it succeeded, kExitJobFailed
// or kExitJobCancelled otherwise (1 also when the service is unreachable).
int WatchJobToEnd(const CliContext& context, const std::string& job_id);

}  // namespace kiln::cli
