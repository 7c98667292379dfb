#include "services/training/lease_store.h"

#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/db/transaction.h"
#include "services/common/proto_json.h"
#include "services/common/status.h"
#include "services/training/job_rows.h"

namespace kiln::training {
namespace {

// Scheduling and reaping change many jobs and leases at once; one lock
// across all training replicas keeps them from assigning a slot twice.
constexpr char kScheduleLock[] = "SELECT pg_advisory_xact_lock(hashtext('kiln.training.schedule'))";

std::string RandomId(const char* prefix) {
  static thread_local std::mt19937_64 random(std::random_device{}());
  return absl::StrCat(prefix, absl::Hex(random(), absl::kZeroPad16));
}

double Seconds(absl::Duration duration) { return absl::ToDoubleSeconds(duration); }

// training.leases.state, whose CHECK constraint lists the same names.
enum class LeaseState { kActive, kCompleted, kFailed, kLost, kCancelled };

const char* LeaseStateName(LeaseState state) {
  switch (state) {
    case LeaseState::kActive: return "active";
    case LeaseState::kCompleted: return "completed";
    case LeaseState::kFailed: return "failed";
    case LeaseState::kLost: return "lost";
    case LeaseState::kCancelled: return "cancelled";
  }
  return "unknown";
}

LeaseState ParseLeaseState(const pqxx::field& field) {
  const std::string name = field.as<std::string>();
  for (LeaseState state : {LeaseState::kActive, LeaseState::kCompleted, LeaseState::kFailed,
                           LeaseState::kLost, LeaseState::kCancelled}) {
    if (name == LeaseStateName(state)) return state;
  }
  // The column's CHECK admits no other name; an ended lease is the safe reading.
  return LeaseState::kLost;
}

struct LeaseRow {
  std::string id;
  int64_t job_id = 0;
  int attempt = 0;
  int rank = 0;
  std::string worker_id;
  LeaseState state = LeaseState::kLost;
};

// The lease with its job row locked, so that every change to a job and its
// leases happens in one order.
absl::StatusOr<LeaseRow> LockLease(pqxx::transaction_base& tx, const std::string& lease_id) {
  const pqxx::result rows = tx.exec_params(
      "SELECT l.id, l.job_id, l.attempt, l.rank, l.worker_id, l.state FROM training.leases l "
      "WHERE l.id = $1",
      lease_id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("no lease ", lease_id.substr(0, 64)));
  LeaseRow lease{rows[0][0].as<std::string>(), rows[0][1].as<int64_t>(), rows[0][2].as<int>(),
                 rows[0][3].as<int>(),         rows[0][4].as<std::string>(),
                 ParseLeaseState(rows[0][5])};
  tx.exec_params("SELECT 1 FROM training.jobs WHERE id = $1 FOR UPDATE", lease.job_id);
  // Re-read under the job lock: a concurrent cancel or reap may have won.
  lease.state = ParseLeaseState(
      tx.exec_params1("SELECT state FROM training.leases WHERE id = $1", lease_id)[0]);
  return lease;
}

kiln::v1::LeaseStatus StatusOf(LeaseState state) {
  if (state == LeaseState::kActive) return kiln::v1::LEASE_STATUS_ACTIVE;
  if (state == LeaseState::kCancelled) return kiln::v1::LEASE_STATUS_CANCELLED;
  return kiln::v1::LEASE_STATUS_LOST;
}

// How an attempt ended, for what happens to its job.
enum class AttemptEnd {
  kRetryable,  // another attempt may succeed; it counts against max_attempts
  kFinal,      // no attempt can fix it: the job fails
  kReleased,   // a worker gave its lease back on purpose: a free retry
};

// Ends the attempt a failed, lapsed or released lease belonged to: the other
// ranks are told to stop, and the job is re-queued or, out of attempts,
// failed.
void BreakAttempt(pqxx::transaction_base& tx, int64_t job_id, int attempt,
                  const std::string& why, AttemptEnd end) {
  tx.exec_params(
      "UPDATE training.leases SET state = 'lost', ended_at = now() "
      "WHERE job_id = $1 AND attempt = $2 AND state = 'active'",
      job_id, attempt);
  std::optional<kiln::v1::Job> job = ReadJob(tx, job_id, /*lock=*/false);
  if (!job || job->state() != kiln::v1::JOB_STATE_RUNNING || job->attempt() != attempt) return;
  if (end == AttemptEnd::kReleased) {
    tx.exec_params(
        "UPDATE training.jobs SET released_attempts = released_attempts + 1 WHERE id = $1",
        job_id);
    ChangeState(tx, *job, kiln::v1::JOB_STATE_QUEUED,
                absl::StrCat(why, "; attempt ", attempt,
                             " was given back and does not count, the job waits for workers"));
    return;
  }
  const int counted =
      attempt -
      tx.exec_params1("SELECT released_attempts FROM training.jobs WHERE id = $1", job_id)[0]
          .as<int>();
  if (end == AttemptEnd::kRetryable && counted < job->spec().max_attempts()) {
    ChangeState(tx, *job, kiln::v1::JOB_STATE_QUEUED,
                absl::StrCat(why, "; attempt ", counted, " of ", job->spec().max_attempts(),
                             " ended, the job waits for workers again"));
  } else {
    ChangeState(tx, *job, kiln::v1::JOB_STATE_FAILED,
                end == AttemptEnd::kRetryable
                    ? absl::StrCat(why, " (no attempts left: ", counted, " of ",
                                   job->spec().max_attempts(), ")")
                    : why);
  }
}

}  // namespace

absl::StatusOr<kiln::v1::RegisterWorkerResponse> LeaseStore::RegisterWorker(
    const kiln::v1::RegisterWorkerRequest& request) {
  kiln::v1::RegisterWorkerResponse response;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    const std::string id = RandomId("worker-");
    // A restarted worker comes back under its name: its old slots go, and
    // its old leases lapse on their own (no more heartbeats).
    tx.exec_params("DELETE FROM training.slot_requests WHERE worker_id IN "
                   "(SELECT id FROM training.workers WHERE name = $1)",
                   request.name());
    const std::string stored = tx.exec_params1(
        "INSERT INTO training.workers (id, name, host, slots, description) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, "
        "slots = EXCLUDED.slots, description = EXCLUDED.description, registered_at = now(), "
        "last_seen_at = now() RETURNING id",
        id, request.name(), request.host(), request.slots(), request.description())[0]
                                   .as<std::string>();
    response.set_worker_id(stored);
    response.set_heartbeat_interval_ms(
        static_cast<int32_t>(absl::ToInt64Milliseconds(settings_.heartbeat_interval)));
    response.set_lease_ttl_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(settings_.lease_ttl)));
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<int64_t> LeaseStore::RequestSlot(const std::string& worker_id,
                                                absl::Duration wait) {
  int64_t slot = 0;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    const pqxx::result worker = tx.exec_params(
        "UPDATE training.workers SET last_seen_at = now() WHERE id = $1 RETURNING id", worker_id);
    if (worker.empty()) {
      return absl::NotFoundError(absl::StrCat("worker ", worker_id.substr(0, 64),
                                              " is not registered: call RegisterWorker first"));
    }
    // A little past the caller's wait, so the slot outlives its own poll.
    slot = tx.exec_params1(
                 "INSERT INTO training.slot_requests (worker_id, expires_at) VALUES "
                 "($1, now() + make_interval(secs => $2)) RETURNING id",
                 worker_id, Seconds(wait) + 5)[0]
               .as<int64_t>();
    return absl::OkStatus();
  }));
  return slot;
}

absl::Status LeaseStore::Schedule() {
  return db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    tx.exec(kScheduleLock);
    tx.exec("DELETE FROM training.slot_requests WHERE lease_id IS NULL AND expires_at < now()");
    struct Slot {
      int64_t id;
      std::string worker_id;
      std::string worker_name;
    };
    std::vector<Slot> free;
    for (const auto& row :
         tx.exec("SELECT s.id, s.worker_id, w.name FROM training.slot_requests s "
                 "JOIN training.workers w ON w.id = s.worker_id "
                 "WHERE s.lease_id IS NULL ORDER BY s.id")) {
      free.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>()});
    }
    if (free.empty()) return absl::OkStatus();
    size_t next = 0;
    for (const auto& row :
         tx.exec("SELECT id, world_size FROM training.jobs WHERE state = 'queued' ORDER BY id "
                 "FOR UPDATE")) {
      const int64_t job_id = row[0].as<int64_t>();
      const size_t world_size = row[1].as<size_t>();
      // Oldest job first; a job too big for the free slots does not hold
      // back smaller ones behind it.
      if (free.size() - next < world_size) continue;
      kiln::v1::Job job = *ReadJob(tx, job_id, /*lock=*/false);
      const int attempt = job.attempt() + 1;
      tx.exec_params("UPDATE training.jobs SET attempt = $2 WHERE id = $1", job_id, attempt);
      std::vector<std::string> gang;
      for (size_t rank = 0; rank < world_size; ++rank, ++next) {
        const Slot& slot = free[next];
        const std::string lease_id = RandomId("lease-");
        tx.exec_params(
            "INSERT INTO training.leases (id, job_id, attempt, rank, worker_id, state, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, 'active', now() + make_interval(secs => $6))",
            lease_id, job_id, attempt, static_cast<int>(rank), slot.worker_id,
            Seconds(settings_.lease_ttl));
        tx.exec_params("UPDATE training.slot_requests SET lease_id = $2 WHERE id = $1", slot.id,
                       lease_id);
        gang.push_back(absl::StrCat(slot.worker_name, " (rank ", rank, ")"));
      }
      job.set_attempt(attempt);
      ChangeState(tx, job, kiln::v1::JOB_STATE_RUNNING,
                  absl::StrCat("attempt ", attempt, " leased to ", absl::StrJoin(gang, ", ")));
      if (next == free.size()) break;
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<kiln::v1::Lease>> LeaseStore::TakeLease(int64_t slot_id,
                                                                     bool give_up) {
  std::optional<kiln::v1::Lease> lease;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    lease.reset();
    const pqxx::result slot = tx.exec_params(
        "SELECT lease_id FROM training.slot_requests WHERE id = $1 FOR UPDATE", slot_id);
    if (slot.empty()) return absl::OkStatus();  // expired and swept
    if (slot[0][0].is_null()) {
      if (give_up) tx.exec_params("DELETE FROM training.slot_requests WHERE id = $1", slot_id);
      return absl::OkStatus();
    }
    const std::string lease_id = slot[0][0].as<std::string>();
    tx.exec_params("DELETE FROM training.slot_requests WHERE id = $1", slot_id);
    const pqxx::row row = tx.exec_params1(
        "SELECT job_id, attempt, rank, extract(epoch FROM expires_at), "
        "(SELECT world_size FROM training.jobs WHERE id = l.job_id), "
        "(SELECT coalesce(max(epoch), 0) FROM training.checkpoints c WHERE c.job_id = l.job_id) "
        "FROM training.leases l WHERE id = $1",
        lease_id);
    kiln::v1::Lease result;
    result.set_lease_id(lease_id);
    *result.mutable_job() = *ReadJob(tx, row[0].as<int64_t>(), /*lock=*/false);
    result.set_attempt(row[1].as<int>());
    result.set_rank(row[2].as<int>());
    result.mutable_expires_at()->set_seconds(static_cast<int64_t>(row[3].as<double>()));
    result.set_world_size(row[4].as<int>());
    result.set_resume_epoch(row[5].as<int>());
    result.set_preprocess_address(settings_.preprocess_address);
    result.set_evaluation_address(settings_.evaluation_address);
    result.set_registry_address(settings_.registry_address);
    lease = std::move(result);
    return absl::OkStatus();
  }));
  return lease;
}

absl::StatusOr<kiln::v1::HeartbeatResponse> LeaseStore::Heartbeat(const std::string& lease_id,
                                                                  int epoch) {
  (void)epoch;  // progress arrives with epoch_finished events
  kiln::v1::HeartbeatResponse response;
  bool found = true;
  // Only the lease row is touched, never the job's: a heartbeat must get
  // through while other calls of the same job hold the job row.
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    const pqxx::result renewed = tx.exec_params(
        "UPDATE training.leases SET expires_at = now() + make_interval(secs => $2) "
        "WHERE id = $1 AND state = 'active' RETURNING extract(epoch FROM expires_at), worker_id",
        lease_id, Seconds(settings_.lease_ttl));
    if (!renewed.empty()) {
      response.set_status(kiln::v1::LEASE_STATUS_ACTIVE);
      response.mutable_expires_at()->set_seconds(static_cast<int64_t>(renewed[0][0].as<double>()));
      tx.exec_params("UPDATE training.workers SET last_seen_at = now() WHERE id = $1",
                     renewed[0][1].as<std::string>());
      return absl::OkStatus();
    }
    const pqxx::result state =
        tx.exec_params("SELECT state FROM training.leases WHERE id = $1", lease_id);
    found = !state.empty();
    if (found) response.set_status(StatusOf(ParseLeaseState(state[0][0])));
    return absl::OkStatus();
  }));
  if (!found) return absl::NotFoundError(absl::StrCat("no lease ", lease_id.substr(0, 64)));
  return response;
}

absl::StatusOr<std::string> LeaseStore::Rendezvous(const std::string& lease_id,
                                                   const std::string& address) {
  std::string rank0_address;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    KILN_ASSIGN_OR_RETURN(LeaseRow lease, LockLease(tx, lease_id));
    if (lease.state != LeaseState::kActive) {
      return absl::FailedPreconditionError(
          absl::StrCat("lease ", lease_id, " is ", LeaseStateName(lease.state), ", not active"));
    }
    if (!address.empty()) {
      if (lease.rank != 0) {
        return absl::InvalidArgumentError("only rank 0 publishes the rendezvous address");
      }
      tx.exec_params("UPDATE training.leases SET rendezvous = $2 WHERE id = $1", lease_id, address);
    }
    const pqxx::result rows = tx.exec_params(
        "SELECT coalesce(rendezvous, '') FROM training.leases "
        "WHERE job_id = $1 AND attempt = $2 AND rank = 0",
        lease.job_id, lease.attempt);
    rank0_address = rows.empty() ? "" : rows[0][0].as<std::string>();
    return absl::OkStatus();
  }));
  return rank0_address;
}

absl::StatusOr<kiln::v1::LeaseStatus> LeaseStore::AppendEvents(
    const std::string& lease_id,
    const google::protobuf::RepeatedPtrField<kiln::v1::JobEvent>& events) {
  kiln::v1::LeaseStatus status = kiln::v1::LEASE_STATUS_UNSPECIFIED;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    KILN_ASSIGN_OR_RETURN(LeaseRow lease, LockLease(tx, lease_id));
    status = StatusOf(lease.state);
    if (lease.state != LeaseState::kActive) {
      // A worker back from a partition reports what it trained after its
      // lease lapsed; the job has moved on to another attempt, whose events
      // those would interleave with. (A finished attempt's last reports,
      // sent after its lease ended, are still its job's current attempt's.)
      const int current = tx.exec_params1("SELECT attempt FROM training.jobs WHERE id = $1",
                                          lease.job_id)[0]
                              .as<int>();
      if (current != lease.attempt) return absl::OkStatus();
    }
    for (const kiln::v1::JobEvent& event : events) {
      if (event.has_epoch_finished() && lease.state == LeaseState::kActive) {
        tx.exec_params(
            "UPDATE training.jobs SET epochs_done = $2, last_epoch = $3 "
            "WHERE id = $1 AND attempt = $4",
            lease.job_id, event.epoch_finished().epoch(), ToJson(event.epoch_finished()),
            lease.attempt);
        if (event.epoch_finished().best()) {
          tx.exec_params("UPDATE training.jobs SET best_epoch = $2 WHERE id = $1 AND attempt = $3",
                         lease.job_id, ToJson(event.epoch_finished()), lease.attempt);
        }
      }
      AppendEvent(tx, lease.job_id, lease.attempt, event);
    }
    if (lease.state == LeaseState::kActive) {
      tx.exec_params(
          "UPDATE training.leases SET expires_at = now() + make_interval(secs => $2) WHERE id = $1",
          lease_id, Seconds(settings_.lease_ttl));
    }
    return absl::OkStatus();
  }));
  return status;
}

absl::StatusOr<kiln::v1::Checkpoint> LeaseStore::SaveCheckpoint(const std::string& lease_id,
                                                               int epoch,
                                                               const std::string& sha256,
                                                               const std::string& data) {
  int64_t job_id = 0;
  // Writing tens of MiB takes a while: do it without holding the job row,
  // which heartbeats' neighbours (events, cancels) need.
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    const pqxx::result rows = tx.exec_params(
        "SELECT job_id, rank, state FROM training.leases WHERE id = $1", lease_id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("no lease ", lease_id.substr(0, 64)));
    if (const LeaseState state = ParseLeaseState(rows[0][2]); state != LeaseState::kActive) {
      return absl::FailedPreconditionError(absl::StrCat(
          "lease ", lease_id, " is ", LeaseStateName(state), "; the checkpoint is not kept"));
    }
    if (rows[0][1].as<int>() != 0) return absl::InvalidArgumentError("only rank 0 saves checkpoints");
    job_id = rows[0][0].as<int64_t>();
    tx.exec_params(
        "INSERT INTO training.checkpoints (job_id, epoch, sha256, size_bytes, data) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id, epoch) DO UPDATE SET "
        "sha256 = EXCLUDED.sha256, size_bytes = EXCLUDED.size_bytes, data = EXCLUDED.data, "
        "created_at = now()",
        job_id, epoch, sha256, static_cast<int64_t>(data.size()), pqxx::binarystring(data));
    return absl::OkStatus();
  }));
  kiln::v1::Checkpoint checkpoint;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    KILN_ASSIGN_OR_RETURN(LeaseRow lease, LockLease(tx, lease_id));
    tx.exec_params(
        "DELETE FROM training.checkpoints WHERE job_id = $1 AND epoch NOT IN "
        "(SELECT epoch FROM training.checkpoints WHERE job_id = $1 ORDER BY epoch DESC LIMIT $2)",
        job_id, settings_.keep_checkpoints);
    kiln::v1::JobEvent event;
    event.mutable_checkpoint_saved()->set_epoch(epoch);
    event.mutable_checkpoint_saved()->set_size_bytes(static_cast<int64_t>(data.size()));
    AppendEvent(tx, job_id, lease.attempt, std::move(event));
    checkpoint.set_job_id(FormatJobId(job_id));
    checkpoint.set_epoch(epoch);
    checkpoint.set_sha256(sha256);
    checkpoint.set_size_bytes(static_cast<int64_t>(data.size()));
    return absl::OkStatus();
  }));
  return checkpoint;
}

absl::StatusOr<std::pair<kiln::v1::Checkpoint, std::string>> LeaseStore::LoadCheckpoint(
    const std::string& job_id, int epoch) {
  KILN_ASSIGN_OR_RETURN(const int64_t number, ParseJobId(job_id));
  std::pair<kiln::v1::Checkpoint, std::string> result;
  bool found = false;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    const pqxx::result rows = tx.exec_params(
        "SELECT epoch, sha256, size_bytes, extract(epoch FROM created_at), data "
        "FROM training.checkpoints WHERE job_id = $1 AND ($2 = 0 OR epoch = $2) "
        "ORDER BY epoch DESC LIMIT 1",
        number, epoch);
    found = !rows.empty();
    if (!found) return absl::OkStatus();
    result.first.set_job_id(job_id);
    result.first.set_epoch(rows[0][0].as<int>());
    result.first.set_sha256(rows[0][1].as<std::string>());
    result.first.set_size_bytes(rows[0][2].as<int64_t>());
    result.first.mutable_created_at()->set_seconds(static_cast<int64_t>(rows[0][3].as<double>()));
    result.second = pqxx::binarystring(rows[0][4]).str();
    return absl::OkStatus();
  }));
  if (!found) {
    return absl::NotFoundError(
        epoch == 0 ? absl::StrCat(job_id, " has no checkpoint")
                   : absl::StrCat(job_id, " has no checkpoint of epoch ", epoch));
  }
  return result;
}

absl::StatusOr<kiln::v1::Job> LeaseStore::CompleteLease(const std::string& lease_id,
                                                        const kiln::v1::JobResult& result) {
  kiln::v1::Job job;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    KILN_ASSIGN_OR_RETURN(LeaseRow lease, LockLease(tx, lease_id));
    if (lease.state == LeaseState::kActive) {
      tx.exec_params(
          "UPDATE training.leases SET state = 'completed', ended_at = now() WHERE id = $1",
          lease_id);
      std::optional<kiln::v1::Job> current = ReadJob(tx, lease.job_id, /*lock=*/false);
      // Rank 0 reports for the whole gang.
      if (lease.rank == 0 && current->state() == kiln::v1::JOB_STATE_RUNNING &&
          current->attempt() == lease.attempt) {
        tx.exec_params("UPDATE training.jobs SET result = $2 WHERE id = $1", lease.job_id,
                       ToJson(result));
        ChangeState(tx, *current, kiln::v1::JOB_STATE_SUCCEEDED,
                    result.version() > 0
                        ? absl::StrCat("published ", result.model(), " version ", result.version())
                        : "training finished");
      }
    }
    job = *ReadJob(tx, lease.job_id, /*lock=*/false);
    return absl::OkStatus();
  }));
  return job;
}

absl::StatusOr<kiln::v1::Job> LeaseStore::FailLease(const std::string& lease_id,
                                                    const std::string& error, bool retryable,
                                                    bool released) {
  kiln::v1::Job job;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    KILN_ASSIGN_OR_RETURN(LeaseRow lease, LockLease(tx, lease_id));
    if (lease.state == LeaseState::kActive) {
      tx.exec_params("UPDATE training.leases SET state = 'failed', ended_at = now() WHERE id = $1",
                     lease_id);
      kiln::v1::JobEvent event;
      event.mutable_log()->set_level("error");
      event.mutable_log()->set_message(error);
      event.mutable_log()->set_rank(lease.rank);
      AppendEvent(tx, lease.job_id, lease.attempt, std::move(event));
      const AttemptEnd end = released    ? AttemptEnd::kReleased
                             : retryable ? AttemptEnd::kRetryable
                                         : AttemptEnd::kFinal;
      BreakAttempt(tx, lease.job_id, lease.attempt,
                   absl::StrCat("rank ", lease.rank, released ? " stopped: " : " failed: ", error),
                   end);
    }
    job = *ReadJob(tx, lease.job_id, /*lock=*/false);
    return absl::OkStatus();
  }));
  return job;
}

absl::StatusOr<int> LeaseStore::ExtendActiveLeases() {
  int extended = 0;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    extended = static_cast<int>(
        tx.exec_params("UPDATE training.leases "
                       "SET expires_at = greatest(expires_at, now() + make_interval(secs => $1)) "
                       "WHERE state = 'active'",
                       absl::ToDoubleSeconds(settings_.lease_ttl))
            .affected_rows());
    return absl::OkStatus();
  }));
  return extended;
}

absl::StatusOr<int> LeaseStore::ReapExpiredLeases() {
  int lapsed = 0;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    tx.exec(kScheduleLock);
    std::map<std::pair<int64_t, int>, std::string> attempts;  // (job, attempt) -> why
    const pqxx::result expired = tx.exec(
        "SELECT l.job_id, l.attempt, l.rank, w.name FROM training.leases l "
        "JOIN training.workers w ON w.id = l.worker_id "
        "WHERE l.state = 'active' AND l.expires_at < now() ORDER BY l.job_id, l.rank");
    lapsed = static_cast<int>(expired.size());
    for (const auto& row : expired) {
      auto key = std::make_pair(row[0].as<int64_t>(), row[1].as<int>());
      if (attempts.count(key)) continue;
      attempts[key] = absl::StrCat("the lease of ", row[3].as<std::string>(), " (rank ",
                                   row[2].as<int>(), ") expired: no heartbeat for ",
                                   absl::FormatDuration(settings_.lease_ttl));
    }
    for (const auto& [key, why] : attempts) {
      tx.exec_params("SELECT 1 FROM training.jobs WHERE id = $1 FOR UPDATE", key.first);
      BreakAttempt(tx, key.first, key.second, why, AttemptEnd::kRetryable);
    }
    return absl::OkStatus();
  }));
  return lapsed;
}

}  // namespace kiln::training
