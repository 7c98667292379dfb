#include "services/worker/model_shipping.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/file_chunks.h"
#include "services/common/log.h"
#include "services/common/proto_json.h"
#include "services/common/status.h"
#include "services/model/bundle_writer.h"
#include "services/worker/retry_policy.h"
#include "services/worker/training_data.h"

namespace kiln::worker {
namespace {

// How long rank 0 keeps trying a publish the registry refuses for now.
constexpr absl::Duration kPublishRetryFor = absl::Minutes(10);

model::WeightEncoding EncodingOf(kiln::v1::WeightEncoding encoding) {
  switch (encoding) {
    case kiln::v1::WEIGHT_ENCODING_FLOAT16: return model::WeightEncoding::kFloat16;
    case kiln::v1::WEIGHT_ENCODING_UINT8: return model::WeightEncoding::kUint8;
    default: return model::WeightEncoding::kFloat32;
  }
}

absl::StatusOr<kiln::v1::EvaluationReport> Evaluate(kiln::v1::EvaluationService::Stub& evaluation,
                                                    const std::string& token,
                                                    const kiln::v1::Job& job,
                                                    const model::BundleFiles& files) {
  grpc::ClientContext context;
  PrepareContext(context, token, absl::Minutes(30));
  kiln::v1::EvaluationReport report;
  auto writer = evaluation.Evaluate(&context, &report);
  kiln::v1::EvaluateRequest request;
  *request.mutable_header()->mutable_dataset() = TestDataset(job.spec());
  request.mutable_header()->set_job_id(job.id());
  bool sent = writer->Write(request);
  for (auto file = files.begin(); sent && file != files.end(); ++file) {
    sent = SendFileChunks(file->first, file->second, [&](const kiln::v1::FileChunk& chunk) {
      request.Clear();
      *request.mutable_file() = chunk;
      return writer->Write(request);
    });
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) {
    absl::Status error = FromGrpcStatus(status);
    return absl::Status(error.code(), absl::StrCat("evaluating the bundle: ", error.message()));
  }
  return report;
}

}  // namespace

absl::StatusOr<kiln::v1::JobResult> ShipModel(kiln::v1::EvaluationService::Stub& evaluation,
                                              registry::RegistryClient& registry,
                                              const std::string& token, const kiln::v1::Job& job,
                                              const model::ModelWeights& weights,
                                              const text::Vocabulary& vocabulary,
                                              const kiln::v1::Vocabulary& vocabulary_record,
                                              absl::FunctionRef<absl::Status()> confirm_lease) {
  const kiln::v1::JobSpec& spec = job.spec();
  const std::vector<std::string> classes(spec.topics().begin(), spec.topics().end());
  kiln::v1::Lineage lineage;
  lineage.set_job_id(job.id());
  *lineage.mutable_train_dataset() = TrainDataset(spec);
  *lineage.mutable_test_dataset() = TestDataset(spec);
  lineage.set_vocabulary_id(vocabulary_record.id());
  lineage.set_vocabulary_hash(vocabulary_record.content_hash());
  lineage.set_preprocess_spec_version(vocabulary_record.spec_version());

  model::BundleMetadata metadata;
  metadata.weight_encoding = EncodingOf(spec.weight_encoding());
  metadata.lineage = nlohmann::json::parse(ToJson(lineage));
  KILN_ASSIGN_OR_RETURN(model::BundleFiles scored,
                        model::WriteBundle(weights, classes, vocabulary, metadata));
  KILN_ASSIGN_OR_RETURN(kiln::v1::EvaluationReport report,
                        Evaluate(evaluation, token, job, scored));
  log::Info(job.id(), ": ", report.id(), " recall@1 ", report.recall_at_1(), " on ",
            report.post_count(), " test posts");

  // The shipped bundle carries its figures: the same model, vocabulary and
  // weight files as the scored one, with the metrics and the report in its
  // manifest.
  metadata.metrics = {{"recall@1", report.recall_at_1()},
                      {"recall@3", report.recall_at_3()},
                      {"recall@5", report.recall_at_5()},
                      {"accuracy", report.accuracy()}};
  lineage.set_evaluation_report_id(report.id());
  metadata.lineage = nlohmann::json::parse(ToJson(lineage));
  KILN_ASSIGN_OR_RETURN(model::BundleFiles shipped,
                        model::WriteBundle(weights, classes, vocabulary, metadata));
  // A busy or restarting registry is waited out rather than costing the
  // attempt: the publish is idempotent per job, so a retry after a publish
  // whose answer was lost gets the same version back.
  const absl::Time give_up = absl::Now() + kPublishRetryFor;
  absl::Duration backoff = absl::Seconds(1);
  absl::StatusOr<kiln::v1::ModelVersion> published;
  for (;;) {
    // Confirmed before every try: a job cancelled meanwhile never publishes.
    if (absl::Status confirmed = confirm_lease(); !confirmed.ok()) {
      published = confirmed;
    } else {
      published =
          registry.Publish(spec.model(), shipped, metadata.metrics, lineage, spec.description());
    }
    if (published.ok() || !IsTransient(published.status()) || absl::Now() + backoff > give_up) {
      break;
    }
    log::Warning(job.id(), ": publishing failed, retrying in ", absl::FormatDuration(backoff),
                 ": ", published.status().message());
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(30));
  }
  KILN_ASSIGN_OR_RETURN(kiln::v1::ModelVersion version, std::move(published));

  grpc::ClientContext context;
  PrepareContext(context, token, absl::Seconds(30));
  kiln::v1::LinkReportRequest link;
  link.set_report_id(report.id());
  link.set_model(version.model());
  link.set_version(version.version());
  kiln::v1::EvaluationReport linked;
  if (grpc::Status status = evaluation.LinkReport(&context, link, &linked); !status.ok()) {
    // The version is published; the report can still be found by job.
    log::Warning("linking ", report.id(), " to ", version.model(), " version ", version.version(),
                 " failed: ", status.error_message());
  }

  kiln::v1::JobResult result;
  result.set_vocabulary_id(vocabulary_record.id());
  result.set_vocabulary_hash(vocabulary_record.content_hash());
  result.set_model(version.model());
  result.set_version(version.version());
  result.set_evaluation_report_id(report.id());
  result.mutable_metrics()->insert(metadata.metrics.begin(), metadata.metrics.end());
  return result;
}

}  // namespace kiln::worker
