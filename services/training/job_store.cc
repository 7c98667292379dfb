#include "services/training/job_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/db/transaction.h"
#include "services/common/proto_json.h"
#include "services/common/status.h"
#include "services/training/job_rows.h"

namespace kiln::training {

absl::StatusOr<kiln::v1::Job> JobStore::Submit(const kiln::v1::JobSpec& spec) {
  kiln::v1::Job job;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    job = *ReadJob(tx, QueueJob(tx, spec), /*lock=*/false);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return job;
}

absl::StatusOr<kiln::v1::Job> JobStore::Get(const std::string& id) {
  KILN_ASSIGN_OR_RETURN(const int64_t number, ParseJobId(id));
  std::optional<kiln::v1::Job> job;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    job = ReadJob(tx, number, /*lock=*/false);
    return absl::OkStatus();
  }));
  if (!job) return absl::NotFoundError(absl::StrCat("no job ", id));
  return *std::move(job);
}

absl::StatusOr<kiln::v1::ListJobsResponse> JobStore::List(
    const kiln::v1::ListJobsRequest& request) {
  const int page_size = request.page_size() > 0 ? request.page_size() : 50;
  int64_t before = 0;
  if (!request.page_token().empty() && !absl::SimpleAtoi(request.page_token(), &before)) {
    return absl::InvalidArgumentError("page_token is not one this service handed out");
  }
  kiln::v1::ListJobsResponse response;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    response.Clear();
    std::vector<std::string> filters = {"true"};
    if (before > 0) filters.push_back(absl::StrCat("id < ", before));
    if (!request.model().empty()) filters.push_back("model = " + tx.quote(request.model()));
    if (!request.states().empty()) {
      std::vector<std::string> states;
      for (int state : request.states()) {
        states.push_back(tx.quote(StateName(static_cast<kiln::v1::JobState>(state))));
      }
      filters.push_back(absl::StrCat("state IN (", absl::StrJoin(states, ", "), ")"));
    }
    const pqxx::result ids = tx.exec(absl::StrCat("SELECT id FROM training.jobs WHERE ",
                                                  absl::StrJoin(filters, " AND "),
                                                  " ORDER BY id DESC LIMIT ", page_size + 1));
    for (int i = 0; i < static_cast<int>(ids.size()) && i < page_size; ++i) {
      *response.add_jobs() = *ReadJob(tx, ids[i][0].as<int64_t>(), /*lock=*/false);
    }
    if (static_cast<int>(ids.size()) > page_size) {
      response.set_next_page_token(absl::StrCat(ids[page_size - 1][0].as<int64_t>()));
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<kiln::v1::Job> JobStore::Cancel(const std::string& id, const std::string& reason) {
  KILN_ASSIGN_OR_RETURN(const int64_t number, ParseJobId(id));
  kiln::v1::Job job;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    std::optional<kiln::v1::Job> current = ReadJob(tx, number, /*lock=*/true);
    if (!current) return absl::NotFoundError(absl::StrCat("no job ", id));
    if (IsTerminal(current->state())) {
      return absl::FailedPreconditionError(
          absl::StrCat(id, " has already ", StateName(current->state()), "; nothing to cancel"));
    }
    // Workers learn it from their next heartbeat or event report.
    tx.exec_params(
        "UPDATE training.leases SET state = 'cancelled', ended_at = now() "
        "WHERE job_id = $1 AND state = 'active'",
        number);
    ChangeState(tx, *current, kiln::v1::JOB_STATE_CANCELLED,
                reason.empty() ? "cancelled by the user" : "cancelled: " + reason);
    job = *ReadJob(tx, number, /*lock=*/false);
    return absl::OkStatus();
  }));
  return job;
}

absl::StatusOr<std::vector<kiln::v1::JobEvent>> JobStore::EventsAfter(const std::string& id,
                                                                      int64_t after_sequence,
                                                                      int limit) {
  KILN_ASSIGN_OR_RETURN(const int64_t number, ParseJobId(id));
  std::vector<kiln::v1::JobEvent> events;
  bool exists = true;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    events.clear();
    exists = !tx.exec_params("SELECT 1 FROM training.jobs WHERE id = $1", number).empty();
    for (const auto& row : tx.exec_params(
             "SELECT event::text FROM training.events WHERE job_id = $1 AND sequence > $2 "
             "ORDER BY sequence LIMIT $3",
             number, after_sequence, limit)) {
      events.emplace_back();
      KILN_RETURN_IF_ERROR(FromJson(row[0].as<std::string>(), &events.back()));
    }
    return absl::OkStatus();
  }));
  if (!exists) return absl::NotFoundError(absl::StrCat("no job ", id));
  return events;
}

}  // namespace kiln::training
