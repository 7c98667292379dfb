// Reading and changing job rows inside a transaction: the pieces that the
// user-facing JobStore and the worker-facing LeaseStore share.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "kiln/v1/training.pb.h"

namespace kiln::training {

// "job-000042" <-> 42.
std::string FormatJobId(int64_t id);
absl::StatusOr<int64_t> ParseJobId(const std::string& id);

std::string StateName(kiln::v1::JobState state);  // "queued", ...
kiln::v1::JobState ParseState(const std::string& name);
bool IsTerminal(kiln::v1::JobState state);

// The job with its row locked (FOR UPDATE) when `lock` is set, or nullopt.
std::optional<kiln::v1::Job> ReadJob(pqxx::transaction_base& tx, int64_t id, bool lock);

// The channel AppendEvent notifies, with the job's numeric id as payload.
inline constexpr char kJobEventsChannel[] = "kiln_training_job_events";

// Appends `event` with the job's next sequence number; the caller holds the
// job row's lock, which is what keeps sequence numbers unique. Notifies
// kJobEventsChannel, delivered when the transaction commits.
void AppendEvent(pqxx::transaction_base& tx, int64_t job_id, int attempt,
                 kiln::v1::JobEvent event);

// Inserts a queued job for `spec` (complete and valid) and its first
// event, which names `origin` when given (e.g. "sweep-000007"); returns
// the job's numeric id.
int64_t QueueJob(pqxx::transaction_base& tx, const kiln::v1::JobSpec& spec,
                 const std::string& origin = "");

// Moves the job to `to`, stamping started_at/finished_at as fits, storing
// `error` for FAILED/CANCELLED, and records a StateChanged event.
void ChangeState(pqxx::transaction_base& tx, const kiln::v1::Job& job, kiln::v1::JobState to,
                 const std::string& reason);

}  // namespace kiln::training
