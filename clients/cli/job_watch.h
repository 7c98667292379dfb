// Following a training job: prints its events as they arrive (a progress
// bar within each epoch, a line per epoch) until the job ends.
#pragma once

#include <string>

#include "absl/time/time.h"

#include "clients/cli/cli_context.h"

namespace kiln::cli {

// Exit codes shared by the job commands.
constexpr int kExitJobFailed = 1;
constexpr int kExitJobCancelled = 4;
// The training service stayed unreachable: the job may still be running.
constexpr int kExitJobUnknown = 5;

// How long the watch keeps reconnecting to an unreachable training service
// (a restart, a network cut) before it gives up with kExitJobUnknown.
constexpr absl::Duration kWatchReconnectFor = absl::Minutes(10);

// Watches `job_id` to its end; returns 0 when it succeeded, kExitJobFailed
// or kExitJobCancelled when it did not, kExitJobUnknown when the training
// service could not be reached for kWatchReconnectFor.
int WatchJobToEnd(const CliContext& context, const std::string& job_id);

}  // namespace kiln::cli
