#include "services/evaluation/evaluation_service.h"

#include "absl/strings/str_cat.h"
#include "services/common/auth/interceptor.h"
#include "services/common/log.h"
#include "services/common/sha256.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "services/evaluation/bundle_evaluator.h"
#include "services/model/bundle_reader.h"

namespace kiln::evaluation {
namespace {

constexpr size_t kMaxBundleBytes = size_t{256} << 20;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

}  // namespace

grpc::Status EvaluationServiceImpl::Evaluate(grpc::ServerContext* context,
                                             grpc::ServerReader<kiln::v1::EvaluateRequest>* reader,
                                             kiln::v1::EvaluationReport* response) {
  KILN_AUTHORIZE(context);
  kiln::v1::EvaluateRequest message;
  if (!reader->Read(&message) || !message.has_header()) {
    return Invalid("the stream must start with a header");
  }
  const kiln::v1::EvaluateHeader header = message.header();
  if (absl::Status s = ValidateDatasetSpec(header.dataset(), "header.dataset"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  model::BundleFiles files;
  size_t total = 0;
  while (reader->Read(&message)) {
    if (!message.has_file()) return Invalid("only files may follow the header");
    const kiln::v1::FileChunk& chunk = message.file();
    if (!model::IsBundleFileName(chunk.path())) {
      return Invalid(absl::StrCat("\"", chunk.path().substr(0, 140), "\" is not a bundle file name"));
    }
    std::string& content = files[chunk.path()];
    if (chunk.offset() != static_cast<int64_t>(content.size())) {
      return Invalid(absl::StrCat(chunk.path(), ": chunk at offset ", chunk.offset(),
                                  " does not follow the ", content.size(), " bytes received"));
    }
    total += chunk.data().size();
    if (total > kMaxBundleBytes) return Invalid("the bundle is over 256 MiB");
    content += chunk.data();
  }
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  int64_t version = 0;  // of a published version, once resolved
  if (header.has_version()) {
    if (!files.empty()) return Invalid("send files or name a version, not both");
    absl::StatusOr<FetchedVersion> fetched = fetch_version_(header.version());
    if (!fetched.ok()) return ToGrpcStatus(fetched.status());
    version = fetched->version;
    files = std::move(fetched->files);
  }
  if (files.empty()) return Invalid("no bundle: send its files or name a version");

  absl::StatusOr<model::Bundle> bundle = model::ReadBundle(files);
  if (!bundle.ok()) {
    return ToGrpcStatus(absl::Status(bundle.status().code(),
                                     absl::StrCat("the bundle: ", bundle.status().message())));
  }
  absl::StatusOr<kiln::v1::EvaluationReport> report =
      EvaluateBundle(*bundle, header.dataset(), posts_);
  if (!report.ok()) return ToGrpcStatus(report.status());
  report->set_job_id(header.job_id());
  report->set_bundle_sha256(Sha256Hex(files.at("manifest.json")));
  if (header.has_version()) {
    report->set_model(header.version().model());
    report->set_version(version);
  }
  absl::StatusOr<kiln::v1::EvaluationReport> stored = reports_.Add(*std::move(report));
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  log::Info(stored->id(), ": recall@1 ", stored->recall_at_1(), " on ", stored->post_count(),
            " posts in ", stored->seconds(), " s");
  *response = *std::move(stored);
  return grpc::Status::OK;
}

grpc::Status EvaluationServiceImpl::GetReport(grpc::ServerContext* context,
                                              const kiln::v1::GetReportRequest* request,
                                              kiln::v1::EvaluationReport* response) {
  KILN_AUTHORIZE(context);
  absl::StatusOr<kiln::v1::EvaluationReport> report = reports_.Get(request->id());
  if (!report.ok()) return ToGrpcStatus(report.status());
  *response = *std::move(report);
  return grpc::Status::OK;
}

grpc::Status EvaluationServiceImpl::ListReports(grpc::ServerContext* context,
                                                const kiln::v1::ListReportsRequest* request,
                                                kiln::v1::ListReportsResponse* response) {
  KILN_AUTHORIZE(context);
  if (absl::Status valid = ValidatePageSize(request->page_size()); !valid.ok()) {
    return ToGrpcStatus(valid);
  }
  absl::StatusOr<kiln::v1::ListReportsResponse> list = reports_.List(*request);
  if (!list.ok()) return ToGrpcStatus(list.status());
  *response = *std::move(list);
  return grpc::Status::OK;
}

grpc::Status EvaluationServiceImpl::LinkReport(grpc::ServerContext* context,
                                               const kiln::v1::LinkReportRequest* request,
                                               kiln::v1::EvaluationReport* response) {
  KILN_AUTHORIZE(context);
  if (request->model().empty() || request->version() < 1) {
    return Invalid("model and a version >= 1 are required");
  }
  absl::StatusOr<kiln::v1::EvaluationReport> report =
      reports_.Link(request->report_id(), request->model(), request->version());
  if (!report.ok()) return ToGrpcStatus(report.status());
  *response = *std::move(report);
  return grpc::Status::OK;
}

}  // namespace kiln::evaluation
