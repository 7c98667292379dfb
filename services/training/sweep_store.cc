#include "services/training/sweep_store.h"

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/db/transaction.h"
#include "services/common/proto_json.h"
#include "services/common/status.h"
#include "services/training/job_rows.h"

namespace kiln::training {
namespace {

std::optional<kiln::v1::Sweep> ReadSweep(pqxx::transaction_base& tx, int64_t id) {
  const pqxx::result rows = tx.exec_params(
      "SELECT s.plan::text, extract(epoch FROM s.created_at), "
      "count(j.id) FILTER (WHERE j.state IN ('succeeded', 'failed', 'cancelled')), "
      "count(j.id) FILTER (WHERE j.state = 'succeeded') "
      "FROM training.sweeps s LEFT JOIN training.sweep_jobs sj ON sj.sweep_id = s.id "
      "LEFT JOIN training.jobs j ON j.id = sj.job_id WHERE s.id = $1 GROUP BY s.id",
      id);
  if (rows.empty()) return std::nullopt;
  kiln::v1::Sweep sweep;
  sweep.set_id(FormatSweepId(id));
  // Rows are written by this service from valid messages.
  (void)FromJson(rows[0][0].as<std::string>(), sweep.mutable_plan());
  const double created = rows[0][1].as<double>();
  sweep.mutable_created_at()->set_seconds(static_cast<int64_t>(created));
  sweep.mutable_created_at()->set_nanos(
      static_cast<int32_t>((created - static_cast<int64_t>(created)) * 1e9));
  sweep.set_jobs_ended(rows[0][2].as<int>());
  sweep.set_jobs_succeeded(rows[0][3].as<int>());
  for (const auto& row : tx.exec_params(
           "SELECT job_id, trial::text FROM training.sweep_jobs WHERE sweep_id = $1 "
           "ORDER BY position",
           id)) {
    kiln::v1::SweepTrial* trial = sweep.add_trials();
    (void)FromJson(row[1].as<std::string>(), trial);
    trial->set_job_id(FormatJobId(row[0].as<int64_t>()));
  }
  return sweep;
}

}  // namespace

std::string FormatSweepId(int64_t id) { return absl::StrFormat("sweep-%06d", id); }

absl::StatusOr<int64_t> ParseSweepId(const std::string& id) {
  int64_t value = 0;
  if (id.rfind("sweep-", 0) != 0 || !absl::SimpleAtoi(id.substr(6), &value) || value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", id.substr(0, 64), "\" is not a sweep id (sweep-NNNNNN)"));
  }
  return value;
}

absl::StatusOr<kiln::v1::Sweep> SweepStore::Create(
    const kiln::v1::SweepPlan& plan, const std::vector<SweepCombination>& combinations) {
  kiln::v1::Sweep sweep;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    const int64_t id =
        tx.exec_params1("INSERT INTO training.sweeps (plan) VALUES ($1) RETURNING id",
                        ToJson(plan))[0]
            .as<int64_t>();
    for (size_t position = 0; position < combinations.size(); ++position) {
      const int64_t job_id = QueueJob(tx, combinations[position].spec, FormatSweepId(id));
      kiln::v1::SweepTrial trial;
      for (const std::string& value : combinations[position].values) trial.add_values(value);
      tx.exec_params(
          "INSERT INTO training.sweep_jobs (sweep_id, position, job_id, trial) "
          "VALUES ($1, $2, $3, $4)",
          id, static_cast<int>(position), job_id, ToJson(trial));
    }
    sweep = *ReadSweep(tx, id);
    return absl::OkStatus();
  }));
  return sweep;
}

absl::StatusOr<kiln::v1::GetSweepResponse> SweepStore::Get(const std::string& id) {
  KILN_ASSIGN_OR_RETURN(const int64_t number, ParseSweepId(id));
  kiln::v1::GetSweepResponse response;
  bool found = false;
  // One snapshot, in which every trial's job exists: deleting a job
  // deletes its sweep_jobs row too.
  db::TransactionOptions snapshot;
  snapshot.isolation = db::Isolation::kRepeatableRead;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(
      pool_,
      [&](pqxx::work& tx) {
        response.Clear();
        std::optional<kiln::v1::Sweep> sweep = ReadSweep(tx, number);
        found = sweep.has_value();
        if (!found) return absl::OkStatus();
        for (const kiln::v1::SweepTrial& trial : sweep->trials()) {
          *response.add_jobs() = *ReadJob(tx, *ParseJobId(trial.job_id()), /*lock=*/false);
        }
        *response.mutable_sweep() = *std::move(sweep);
        return absl::OkStatus();
      },
      snapshot));
  if (!found) return absl::NotFoundError(absl::StrCat("no sweep ", id));
  return response;
}

absl::StatusOr<kiln::v1::ListSweepsResponse> SweepStore::List(int page_size,
                                                              const std::string& page_token) {
  if (page_size == 0) page_size = 50;
  int64_t before = 0;
  if (!page_token.empty() && !absl::SimpleAtoi(page_token, &before)) {
    return absl::InvalidArgumentError("page_token is not one this service handed out");
  }
  kiln::v1::ListSweepsResponse response;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    response.Clear();
    const pqxx::result ids = tx.exec_params(
        "SELECT id FROM training.sweeps WHERE $1 = 0 OR id < $1 ORDER BY id DESC LIMIT $2",
        before, page_size + 1);
    for (int i = 0; i < static_cast<int>(ids.size()) && i < page_size; ++i) {
      *response.add_sweeps() = *ReadSweep(tx, ids[i][0].as<int64_t>());
    }
    if (static_cast<int>(ids.size()) > page_size) {
      response.set_next_page_token(absl::StrCat(ids[page_size - 1][0].as<int64_t>()));
    }
    return absl::OkStatus();
  }));
  return response;
}

}  // namespace kiln::training
