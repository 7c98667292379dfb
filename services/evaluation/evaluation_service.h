// The gRPC surface of the evaluation service.
#pragma once

#include <functional>

#include "kiln/v1/evaluation.grpc.pb.h"
#include "services/data/data_client.h"
#include "services/evaluation/report_store.h"
#include "services/model/bundle_files.h"

namespace kiln::evaluation {

// A published version's number (an alias resolved) and its files.
struct FetchedVersion {
  int64_t version = 0;
  model::BundleFiles files;
};

// Fetches a published version (from the registry).
using VersionFetcher =
    std::function<absl::StatusOr<FetchedVersion>(const kiln::v1::VersionRef& ref)>;

class EvaluationServiceImpl final : public kiln::v1::EvaluationService::Service {
 public:
  EvaluationServiceImpl(ReportStore& reports, data::DataClient& posts, VersionFetcher fetch_version)
      : reports_(reports), posts_(posts), fetch_version_(std::move(fetch_version)) {}

  grpc::Status Evaluate(grpc::ServerContext* context,
                        grpc::ServerReader<kiln::v1::EvaluateRequest>* reader,
                        kiln::v1::EvaluationReport* response) override;
  grpc::Status GetReport(grpc::ServerContext* context, const kiln::v1::GetReportRequest* request,
                         kiln::v1::EvaluationReport* response) override;
  grpc::Status ListReports(grpc::ServerContext* context,
                           const kiln::v1::ListReportsRequest* request,
                           kiln::v1::ListReportsResponse* response) override;
  grpc::Status LinkReport(grpc::ServerContext* context, const kiln::v1::LinkReportRequest* request,
                          kiln::v1::EvaluationReport* response) override;

 private:
  ReportStore& reports_;
  data::DataClient& posts_;
  VersionFetcher fetch_version_;
};

}  // namespace kiln::evaluation
