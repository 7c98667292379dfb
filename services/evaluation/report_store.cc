#include "services/evaluation/report_store.h"

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/common/db/transaction.h"
#include "services/common/proto_json.h"
#include "services/common/status.h"

namespace kiln::evaluation {
namespace {

std::string FormatReportId(int64_t id) { return absl::StrFormat("eval-%06d", id); }

absl::StatusOr<int64_t> ParseReportId(const std::string& id) {
  int64_t value = 0;
  if (id.rfind("eval-", 0) != 0 || !absl::SimpleAtoi(id.substr(5), &value) || value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", id.substr(0, 64), "\" is not a report id (eval-NNNNNN)"));
  }
  return value;
}

absl::StatusOr<kiln::v1::EvaluationReport> ReadReport(pqxx::transaction_base& tx, int64_t id) {
  const pqxx::result rows = tx.exec_params(
      "SELECT report::text, model, version FROM evaluation.reports WHERE id = $1", id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("no report ", FormatReportId(id)));
  kiln::v1::EvaluationReport report;
  KILN_RETURN_IF_ERROR(FromJson(rows[0][0].as<std::string>(), &report));
  report.set_model(rows[0][1].as<std::string>());
  report.set_version(rows[0][2].as<int64_t>());
  return report;
}

}  // namespace

absl::StatusOr<kiln::v1::EvaluationReport> ReportStore::Add(kiln::v1::EvaluationReport report) {
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    const pqxx::row row = tx.exec_params1(
        "INSERT INTO evaluation.reports (job_id, model, version, bundle_sha256, report) "
        "VALUES ($1, $2, $3, $4, '{}') RETURNING id, extract(epoch FROM created_at)",
        report.job_id(), report.model(), report.version(), report.bundle_sha256());
    report.set_id(FormatReportId(row[0].as<int64_t>()));
    report.mutable_created_at()->set_seconds(static_cast<int64_t>(row[1].as<double>()));
    tx.exec_params("UPDATE evaluation.reports SET report = $2 WHERE id = $1", row[0].as<int64_t>(),
                   ToJson(report));
    return absl::OkStatus();
  }));
  return report;
}

absl::StatusOr<kiln::v1::EvaluationReport> ReportStore::Get(const std::string& id) {
  KILN_ASSIGN_OR_RETURN(const int64_t number, ParseReportId(id));
  absl::StatusOr<kiln::v1::EvaluationReport> report;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    report = ReadReport(tx, number);
    return absl::OkStatus();
  }));
  return report;
}

absl::StatusOr<kiln::v1::ListReportsResponse> ReportStore::List(
    const kiln::v1::ListReportsRequest& request) {
  const int page_size = request.page_size() > 0 ? request.page_size() : 50;
  int64_t before = 0;
  if (!request.page_token().empty() && !absl::SimpleAtoi(request.page_token(), &before)) {
    return absl::InvalidArgumentError("page_token is not one this service handed out");
  }
  kiln::v1::ListReportsResponse response;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) -> absl::Status {
    response.Clear();
    std::vector<std::string> filters = {"true"};
    if (before > 0) filters.push_back(absl::StrCat("id < ", before));
    if (!request.job_id().empty()) filters.push_back("job_id = " + tx.quote(request.job_id()));
    if (!request.model().empty()) filters.push_back("model = " + tx.quote(request.model()));
    if (request.version() > 0) filters.push_back(absl::StrCat("version = ", request.version()));
    if (!request.bundle_sha256().empty()) {
      filters.push_back("bundle_sha256 = " + tx.quote(request.bundle_sha256()));
    }
    const pqxx::result ids =
        tx.exec(absl::StrCat("SELECT id FROM evaluation.reports WHERE ",
                             absl::StrJoin(filters, " AND "), " ORDER BY id DESC LIMIT ",
                             page_size + 1));
    for (int i = 0; i < static_cast<int>(ids.size()) && i < page_size; ++i) {
      KILN_ASSIGN_OR_RETURN(*response.add_reports(), ReadReport(tx, ids[i][0].as<int64_t>()));
    }
    if (static_cast<int>(ids.size()) > page_size) {
      response.set_next_page_token(absl::StrCat(ids[page_size - 1][0].as<int64_t>()));
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<kiln::v1::EvaluationReport> ReportStore::Link(const std::string& id,
                                                             const std::string& model,
                                                             int64_t version) {
  KILN_ASSIGN_OR_RETURN(const int64_t number, ParseReportId(id));
  absl::StatusOr<kiln::v1::EvaluationReport> report;
  KILN_RETURN_IF_ERROR(db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    tx.exec_params("UPDATE evaluation.reports SET model = $2, version = $3 WHERE id = $1", number,
                   model, version);
    report = ReadReport(tx, number);
    return absl::OkStatus();
  }));
  return report;
}

}  // namespace kiln::evaluation
