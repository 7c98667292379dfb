// kiln metrics MODEL[:VERSION|@ALIAS]: a version's evaluation (recall@k,
// accuracy, per-class figures, the confusion matrix) and its training curve.
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/cli_context.h"
#include "clients/cli/model_ref.h"
#include "clients/cli/table.h"
#include "kiln/v1/evaluation.grpc.pb.h"
#include "kiln/v1/registry.grpc.pb.h"
#include "kiln/v1/training.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/proto_json.h"

namespace kiln::cli {
namespace {

absl::StatusOr<kiln::v1::EvaluationReport> FindReport(const CliContext& context,
                                                      const kiln::v1::ModelVersion& version) {
  auto stub = kiln::v1::EvaluationService::NewStub(MakeChannel(context.evaluation_address));
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::GetReportRequest request;
  request.set_id(version.lineage().evaluation_report_id());
  kiln::v1::EvaluationReport report;
  grpc::Status status = stub->GetReport(&call, request, &report);
  if (!status.ok()) {
    return absl::NotFoundError(absl::StrCat("the evaluation report of ", version.model(), ":",
                                            version.version(), ": ", status.error_message()));
  }
  return report;
}

// The epochs of the job's last attempt that reached them, in order.
std::vector<kiln::v1::EpochMetrics> EpochCurve(const CliContext& context, const std::string& job_id) {
  std::map<int, kiln::v1::EpochMetrics> epochs;
  if (job_id.empty()) return {};
  auto stub = kiln::v1::TrainingService::NewStub(MakeChannel(context.training_address));
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::WatchJobRequest request;
  request.set_id(job_id);
  auto reader = stub->WatchJob(&call, request);
  kiln::v1::JobEvent event;
  while (reader->Read(&event)) {
    if (event.has_epoch_finished()) epochs[event.epoch_finished().epoch()] = event.epoch_finished();
  }
  reader->Finish();  // the curve is extra: without it the report still stands
  std::vector<kiln::v1::EpochMetrics> curve;
  for (auto& [epoch, metrics] : epochs) curve.push_back(metrics);
  return curve;
}

// The epoch whose weights the job shipped, unset if the job cannot be read.
kiln::v1::EpochMetrics ShippedEpoch(const CliContext& context, const std::string& job_id) {
  if (job_id.empty()) return {};
  auto stub = kiln::v1::TrainingService::NewStub(MakeChannel(context.training_address));
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::GetJobRequest request;
  request.set_id(job_id);
  kiln::v1::Job job;
  if (!stub->GetJob(&call, request, &job).ok()) return {};  // extra, like the curve
  return job.best_epoch();
}

std::string Short(const std::string& category) {
  return category.size() <= 12 ? category : category.substr(0, 5) + "~" + category.substr(category.size() - 6);
}

int Metrics(const CliContext& context, const std::string& text) {
  absl::StatusOr<kiln::v1::VersionRef> ref = ParseModelRef(text);
  if (!ref.ok()) {
    std::cerr << "kiln metrics: " << ref.status().message() << "\n";
    return 2;
  }
  auto registry = kiln::v1::RegistryService::NewStub(MakeChannel(context.registry_address));
  kiln::v1::ModelVersion version;
  {
    grpc::ClientContext call;
    PrepareContext(call, context.token, absl::Seconds(30));
    kiln::v1::GetVersionRequest request;
    *request.mutable_ref() = *ref;
    if (auto status = registry->GetVersion(&call, request, &version); !status.ok()) {
      std::cerr << "kiln metrics: " << status.error_message() << "\n";
      return 1;
    }
  }
  absl::StatusOr<kiln::v1::EvaluationReport> report = FindReport(context, version);
  if (!report.ok()) {
    std::cerr << "kiln metrics: " << report.status().message() << "\n";
    return 1;
  }
  const std::vector<kiln::v1::EpochMetrics> curve = EpochCurve(context, version.lineage().job_id());
  const kiln::v1::EpochMetrics shipped = ShippedEpoch(context, version.lineage().job_id());

  if (context.json) {
    std::cout << "{\"model\":\"" << version.model() << "\",\"version\":" << version.version()
              << ",\"report\":" << ToJson(*report) << ",\"epochs\":[";
    for (size_t i = 0; i < curve.size(); ++i) std::cout << (i ? "," : "") << ToJson(curve[i]);
    std::cout << "]";
    if (shipped.epoch() > 0) std::cout << ",\"best_epoch\":" << ToJson(shipped);
    std::cout << "}\n";
    return 0;
  }
  std::cout << absl::StrFormat("%s version %d (%s), %d test posts, report %s\n", version.model(),
                               version.version(), DescribeRef(*ref), report->post_count(),
                               report->id());
  std::cout << absl::StrFormat("  recall@1 %.4f   recall@3 %.4f   recall@5 %.4f   accuracy %.4f\n\n",
                               report->recall_at_1(), report->recall_at_3(),
                               report->recall_at_5(), report->accuracy());
  Table classes({"CLASS", "PRECISION", "RECALL", "F1", "SUPPORT"});
  for (const auto& c : report->classes()) {
    classes.AddRow({c.category(), absl::StrFormat("%.4f", c.precision()),
                    absl::StrFormat("%.4f", c.recall()), absl::StrFormat("%.4f", c.f1()),
                    absl::StrCat(c.support())});
  }
  classes.Print(std::cout);

  std::cout << "\nconfusion matrix (rows: true class, columns: predicted)\n";
  const int n = report->classes_size();
  std::vector<std::string> header = {""};
  for (const auto& c : report->classes()) header.push_back(Short(c.category()));
  Table confusion(header);
  for (int row = 0; row < n; ++row) {
    std::vector<std::string> cells = {Short(report->classes(row).category())};
    for (int column = 0; column < n; ++column) {
      cells.push_back(absl::StrCat(report->confusion_matrix(row * n + column)));
    }
    confusion.AddRow(cells);
  }
  confusion.Print(std::cout);

  if (!curve.empty()) {
    std::cout << "\ntraining (" << version.lineage().job_id() << ")";
    if (shipped.epoch() > 0) std::cout << ", shipped epoch " << shipped.epoch();
    std::cout << "\n";
    double max_loss = 0;
    bool validated = false;
    for (const auto& e : curve) {
      max_loss = std::max(max_loss, e.loss());
      validated = validated || e.validation_examples() > 0;
    }
    std::vector<std::string> header = {"EPOCH", "LOSS", "ACCURACY"};
    if (validated) header.insert(header.end(), {"VAL LOSS", "VAL R@1", "VAL R@3"});
    header.insert(header.end(), {"SAMPLES/S", ""});
    Table epochs(header);
    for (const auto& e : curve) {
      const int bar = max_loss > 0 ? static_cast<int>(30 * e.loss() / max_loss + 0.5) : 0;
      std::vector<std::string> row = {absl::StrCat(e.epoch()), absl::StrFormat("%.4f", e.loss()),
                                      absl::StrFormat("%.4f", e.accuracy())};
      if (validated) {
        row.insert(row.end(), {absl::StrFormat("%.4f", e.validation_loss()),
                               absl::StrFormat("%.4f", e.validation_recall_at_1()),
                               absl::StrFormat("%.4f", e.validation_recall_at_3())});
      }
      row.insert(row.end(), {absl::StrFormat("%.0f", e.samples_per_second()),
                             std::string(bar, '#') + (e.epoch() == shipped.epoch() ? " <- shipped"
                                                                                   : "")});
      epochs.AddRow(row);
    }
    epochs.Print(std::cout);
  }
  return 0;
}

}  // namespace

void AddMetricsCommand(CLI::App& app, CliContext& context, Action& run) {
  auto* command = app.add_subcommand(
      "metrics", "evaluation and training curve of MODEL[:VERSION|@ALIAS] (default @latest)");
  auto ref = std::make_shared<std::string>();
  // Not required(): CLI11 would demand it of `kiln metrics compare` too.
  command->add_option("model", *ref, "e.g. news, news:2 or news@production");
  AddMetricsCompareCommand(*command, context, run);
  command->callback([&context, &run, ref, command] {
    if (command->got_subcommand("compare")) return;  // it set its own action
    if (ref->empty()) throw CLI::RequiredError("model");
    run = [&context, ref] { return Metrics(context, *ref); };
  });
}

}  // namespace kiln::cli
