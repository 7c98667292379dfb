// Evaluation reports (schema `evaluation`): stored once, read by id, by job,
// by model version or by bundle.
#pragma once

#include "absl/status/statusor.h"
#include "kiln/v1/evaluation.pb.h"
#include "services/common/db/pool.h"

namespace kiln::evaluation {

class ReportStore {
 public:
  explicit ReportStore(db::Pool& pool) : pool_(pool) {}

  // Assigns the id and creation time.
  absl::StatusOr<kiln::v1::EvaluationReport> Add(kiln::v1::EvaluationReport report);
  absl::StatusOr<kiln::v1::EvaluationReport> Get(const std::string& id);
  absl::StatusOr<kiln::v1::ListReportsResponse> List(const kiln::v1::ListReportsRequest& request);
  // Records the registry version a report scored.
  absl::StatusOr<kiln::v1::EvaluationReport> Link(const std::string& id, const std::string& model,
                                                  int64_t version);

 private:
  db::Pool& pool_;
};

}  // namespace kiln::evaluation
