#include "services/training/job_rows.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "services/common/proto_json.h"

namespace kiln::training {
namespace {

void SetTime(const pqxx::field& field, google::protobuf::Timestamp* timestamp) {
  if (field.is_null()) return;
  const double seconds = field.as<double>();
  timestamp->set_seconds(static_cast<int64_t>(seconds));
  timestamp->set_nanos(static_cast<int32_t>((seconds - static_cast<int64_t>(seconds)) * 1e9));
}

}  // namespace

std::string FormatJobId(int64_t id) { return absl::StrFormat("job-%06d", id); }

absl::StatusOr<int64_t> ParseJobId(const std::string& id) {
  int64_t value = 0;
  if (id.rfind("job-", 0) != 0 || !absl::SimpleAtoi(id.substr(4), &value) || value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", id.substr(0, 64), "\" is not a job id (job-NNNNNN)"));
  }
  return value;
}

std::string StateName(kiln::v1::JobState state) {
  switch (state) {
    case kiln::v1::JOB_STATE_QUEUED: return "queued";
    case kiln::v1::JOB_STATE_RUNNING: return "running";
    case kiln::v1::JOB_STATE_SUCCEEDED: return "succeeded";
    case kiln::v1::JOB_STATE_FAILED: return "failed";
    case kiln::v1::JOB_STATE_CANCELLED: return "cancelled";
    default: return "unspecified";
  }
}

kiln::v1::JobState ParseState(const std::string& name) {
  if (name == "queued") return kiln::v1::JOB_STATE_QUEUED;
  if (name == "running") return kiln::v1::JOB_STATE_RUNNING;
  if (name == "succeeded") return kiln::v1::JOB_STATE_SUCCEEDED;
  if (name == "failed") return kiln::v1::JOB_STATE_FAILED;
  if (name == "cancelled") return kiln::v1::JOB_STATE_CANCELLED;
  return kiln::v1::JOB_STATE_UNSPECIFIED;
}

bool IsTerminal(kiln::v1::JobState state) {
  return state == kiln::v1::JOB_STATE_SUCCEEDED || state == kiln::v1::JOB_STATE_FAILED ||
         state == kiln::v1::JOB_STATE_CANCELLED;
}

std::optional<kiln::v1::Job> ReadJob(pqxx::transaction_base& tx, int64_t id, bool lock) {
  const pqxx::result rows = tx.exec_params(
      absl::StrCat(
          "SELECT j.id, j.spec::text, j.state, j.attempt, j.epochs_done, j.last_epoch::text, "
          "j.result::text, j.error, extract(epoch FROM j.created_at), "
          "extract(epoch FROM j.started_at), extract(epoch FROM j.finished_at), "
          "(SELECT string_agg(w.name, ',' ORDER BY l.rank) FROM training.leases l "
          " JOIN training.workers w ON w.id = l.worker_id "
          " WHERE l.job_id = j.id AND l.attempt = j.attempt), "
          "j.best_epoch::text, "
          "(SELECT coalesce(max(c.epoch), 0) FROM training.checkpoints c WHERE c.job_id = j.id) "
          "FROM training.jobs j WHERE j.id = $1",
          lock ? " FOR UPDATE OF j" : ""),
      id);
  if (rows.empty()) return std::nullopt;
  const pqxx::row row = rows[0];
  kiln::v1::Job job;
  job.set_id(FormatJobId(row[0].as<int64_t>()));
  // Rows are written by this service from valid messages.
  (void)FromJson(row[1].as<std::string>(), job.mutable_spec());
  job.set_state(ParseState(row[2].as<std::string>()));
  job.set_attempt(row[3].as<int>());
  job.set_epochs_done(row[4].as<int>());
  if (!row[5].is_null()) (void)FromJson(row[5].as<std::string>(), job.mutable_last_epoch());
  if (!row[6].is_null()) (void)FromJson(row[6].as<std::string>(), job.mutable_result());
  job.set_error(row[7].as<std::string>());
  SetTime(row[8], job.mutable_created_at());
  SetTime(row[9], job.mutable_started_at());
  SetTime(row[10], job.mutable_finished_at());
  if (!row[11].is_null()) {
    for (absl::string_view name : absl::StrSplit(row[11].as<std::string>(), ',')) {
      job.add_workers(std::string(name));
    }
  }
  if (!row[12].is_null()) (void)FromJson(row[12].as<std::string>(), job.mutable_best_epoch());
  job.set_checkpoint_epoch(row[13].as<int>());
  return job;
}

void AppendEvent(pqxx::transaction_base& tx, int64_t job_id, int attempt,
                 kiln::v1::JobEvent event) {
  const int64_t sequence =
      tx.exec_params1("SELECT coalesce(max(sequence), 0) + 1 FROM training.events WHERE job_id = $1",
                      job_id)[0]
          .as<int64_t>();
  // The notification wakes the job's watchers on every training replica
  // (JobEventNotifier); repeats within one transaction are sent once.
  const double now =
      tx.exec_params1("SELECT extract(epoch FROM now()), pg_notify($1, $2::text)",
                      kJobEventsChannel, job_id)[0]
          .as<double>();
  event.set_job_id(FormatJobId(job_id));
  event.set_sequence(sequence);
  event.set_attempt(attempt);
  event.mutable_time()->set_seconds(static_cast<int64_t>(now));
  event.mutable_time()->set_nanos(static_cast<int32_t>((now - static_cast<int64_t>(now)) * 1e9));
  tx.exec_params(
      "INSERT INTO training.events (job_id, sequence, attempt, event) VALUES ($1, $2, $3, $4)",
      job_id, sequence, attempt, ToJson(event));
}

int64_t QueueJob(pqxx::transaction_base& tx, const kiln::v1::JobSpec& spec,
                 const std::string& origin) {
  const int64_t id =
      tx.exec_params1(
            "INSERT INTO training.jobs (model, spec, state, world_size, max_attempts) "
            "VALUES ($1, $2, 'queued', $3, $4) RETURNING id",
            spec.model(), ToJson(spec), spec.world_size(), spec.max_attempts())[0]
          .as<int64_t>();
  kiln::v1::JobEvent event;
  auto* change = event.mutable_state_changed();
  change->set_to(kiln::v1::JOB_STATE_QUEUED);
  change->set_reason(absl::StrCat("submitted", origin.empty() ? "" : " by " + origin,
                                  ": model ", spec.model(), ", ", spec.topics_size(),
                                  " topics, world size ", spec.world_size()));
  AppendEvent(tx, id, 0, std::move(event));
  return id;
}

void ChangeState(pqxx::transaction_base& tx, const kiln::v1::Job& job, kiln::v1::JobState to,
                 const std::string& reason) {
  const int64_t id = *ParseJobId(job.id());
  const bool failed = to == kiln::v1::JOB_STATE_FAILED || to == kiln::v1::JOB_STATE_CANCELLED;
  tx.exec_params(
      "UPDATE training.jobs SET state = $2, "
      "started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END, "
      "finished_at = CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled') THEN now() ELSE NULL END, "
      "error = CASE WHEN $3 THEN $4 ELSE error END WHERE id = $1",
      id, StateName(to), failed, reason);
  kiln::v1::JobEvent event;
  auto* change = event.mutable_state_changed();
  change->set_from(job.state());
  change->set_to(to);
  change->set_reason(reason);
  AppendEvent(tx, id, job.attempt(), std::move(event));
}

}  // namespace kiln::training
