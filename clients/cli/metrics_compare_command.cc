// kiln metrics compare A B: two versions side by side — overall and
// per-class figures of their evaluation reports with B − A deltas, their
// sizes, and their lineage: how the specs of the jobs that produced them
// differ, field by field.
#include <iostream>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/cli_context.h"
#include "clients/cli/model_ref.h"
#include "clients/cli/spec_diff.h"
#include "clients/cli/table.h"
#include "kiln/v1/evaluation.grpc.pb.h"
#include "kiln/v1/registry.grpc.pb.h"
#include "kiln/v1/training.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/status.h"

namespace kiln::cli {
namespace {

// One side of the comparison.
struct Side {
  std::string label;  // as given, e.g. "news:1" or "news@production"
  kiln::v1::ModelVersion version;
  kiln::v1::EvaluationReport report;
  // Unset when the version records no job or the job cannot be read; `note`
  // says which.
  std::optional<kiln::v1::Job> job;
  std::string note;
};

int64_t WeightBytes(const kiln::v1::ModelVersion& version) {
  int64_t bytes = 0;
  for (const auto& file : version.files()) {
    if (absl::EndsWith(file.path(), ".bin")) bytes += file.size();
  }
  return bytes;
}

absl::StatusOr<Side> Load(const CliContext& context, const std::string& text) {
  Side side;
  side.label = text;
  KILN_ASSIGN_OR_RETURN(const kiln::v1::VersionRef ref, ParseModelRef(text));
  {
    auto registry = kiln::v1::RegistryService::NewStub(MakeChannel(context.registry_address));
    grpc::ClientContext call;
    PrepareContext(call, context.token, absl::Seconds(30));
    kiln::v1::GetVersionRequest request;
    *request.mutable_ref() = ref;
    if (grpc::Status status = registry->GetVersion(&call, request, &side.version); !status.ok()) {
      return absl::Status(FromGrpcStatus(status).code(),
                          absl::StrCat(text, ": ", status.error_message()));
    }
  }
  const std::string& report_id = side.version.lineage().evaluation_report_id();
  if (report_id.empty()) {
    return absl::NotFoundError(absl::StrCat(text, " records no evaluation report"));
  }
  {
    auto evaluation = kiln::v1::EvaluationService::NewStub(MakeChannel(context.evaluation_address));
    grpc::ClientContext call;
    PrepareContext(call, context.token, absl::Seconds(30));
    kiln::v1::GetReportRequest request;
    request.set_id(report_id);
    if (grpc::Status status = evaluation->GetReport(&call, request, &side.report); !status.ok()) {
      return absl::Status(FromGrpcStatus(status).code(),
                          absl::StrCat("the evaluation report of ", text, ": ",
                                       status.error_message()));
    }
  }
  // The lineage is extra: without the job the figures still compare.
  const std::string& job_id = side.version.lineage().job_id();
  if (job_id.empty()) {
    side.note = absl::StrCat(text, " records no job (it was not trained by Kiln's training "
                                   "service): no spec to compare");
    return side;
  }
  auto training = kiln::v1::TrainingService::NewStub(MakeChannel(context.training_address));
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::GetJobRequest request;
  request.set_id(job_id);
  kiln::v1::Job job;
  if (grpc::Status status = training->GetJob(&call, request, &job); !status.ok()) {
    side.note = absl::StrCat(text, "'s job ", job_id, " cannot be read: ", status.error_message());
  } else {
    side.job = std::move(job);
  }
  return side;
}

std::string Delta(double a, double b) { return absl::StrFormat("%+.4f", b - a); }

std::string MiB(int64_t bytes) { return absl::StrFormat("%.2f MiB", bytes / 1048576.0); }

const kiln::v1::ClassMetrics* FindClass(const kiln::v1::EvaluationReport& report,
                                        const std::string& category) {
  for (const auto& c : report.classes()) {
    if (c.category() == category) return &c;
  }
  return nullptr;
}

// Every category of A in its order, then those only B has.
std::vector<std::string> Categories(const Side& a, const Side& b) {
  std::vector<std::string> categories;
  for (const auto& c : a.report.classes()) categories.push_back(c.category());
  for (const auto& c : b.report.classes()) {
    if (FindClass(a.report, c.category()) == nullptr) categories.push_back(c.category());
  }
  return categories;
}

struct Overall {
  const char* name;
  double a;
  double b;
};

std::vector<Overall> OverallFigures(const Side& a, const Side& b) {
  return {{"recall@1", a.report.recall_at_1(), b.report.recall_at_1()},
          {"recall@3", a.report.recall_at_3(), b.report.recall_at_3()},
          {"recall@5", a.report.recall_at_5(), b.report.recall_at_5()},
          {"accuracy", a.report.accuracy(), b.report.accuracy()}};
}

std::vector<FieldDifference> SpecDifferences(const Side& a, const Side& b) {
  if (!a.job || !b.job) return {};
  return DiffMessages(a.job->spec(), b.job->spec());
}

nlohmann::json SideJson(const Side& side) {
  return {{"ref", side.label},
          {"model", side.version.model()},
          {"version", side.version.version()},
          {"report_id", side.report.id()},
          {"job_id", side.version.lineage().job_id()},
          {"vocabulary_hash", side.version.lineage().vocabulary_hash()},
          {"weights_bytes", WeightBytes(side.version)},
          {"size_bytes", side.version.size_bytes()}};
}

nlohmann::json Pair(double a, double b) { return {{"a", a}, {"b", b}, {"delta", b - a}}; }

void PrintJson(const Side& a, const Side& b) {
  nlohmann::json out = {{"a", SideJson(a)}, {"b", SideJson(b)}};
  for (const Overall& figure : OverallFigures(a, b)) {
    out["overall"][figure.name] = Pair(figure.a, figure.b);
  }
  out["overall"]["weights_bytes"] = Pair(static_cast<double>(WeightBytes(a.version)),
                                         static_cast<double>(WeightBytes(b.version)));
  out["overall"]["size_bytes"] = Pair(static_cast<double>(a.version.size_bytes()),
                                      static_cast<double>(b.version.size_bytes()));
  out["classes"] = nlohmann::json::array();
  for (const std::string& category : Categories(a, b)) {
    const kiln::v1::ClassMetrics* x = FindClass(a.report, category);
    const kiln::v1::ClassMetrics* y = FindClass(b.report, category);
    nlohmann::json row = {{"category", category}};
    if (x && y) {
      row["precision"] = Pair(x->precision(), y->precision());
      row["recall"] = Pair(x->recall(), y->recall());
      row["f1"] = Pair(x->f1(), y->f1());
    } else {
      row["only_in"] = x ? "a" : "b";
    }
    out["classes"].push_back(row);
  }
  nlohmann::json lineage = {{"spec_differences", nlohmann::json::array()},
                            {"notes", nlohmann::json::array()}};
  for (const Side* side : {&a, &b}) {
    if (!side->note.empty()) lineage["notes"].push_back(side->note);
  }
  lineage["specs_compared"] = a.job.has_value() && b.job.has_value();
  for (const FieldDifference& d : SpecDifferences(a, b)) {
    lineage["spec_differences"].push_back({{"field", d.field}, {"a", d.a}, {"b", d.b}});
  }
  out["lineage"] = lineage;
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void PrintText(const Side& a, const Side& b) {
  for (const Side* side : {&a, &b}) {
    std::cout << absl::StrFormat(
        "%s: %s version %d, job %s, report %s, %d test posts\n", side->label,
        side->version.model(), side->version.version(),
        side->version.lineage().job_id().empty() ? "-" : side->version.lineage().job_id(),
        side->report.id(), side->report.post_count());
  }
  std::cout << "\n";
  Table overall({"", a.label, b.label, "DELTA"});
  for (const Overall& figure : OverallFigures(a, b)) {
    overall.AddRow({figure.name, absl::StrFormat("%.4f", figure.a),
                    absl::StrFormat("%.4f", figure.b), Delta(figure.a, figure.b)});
  }
  const int64_t weights_a = WeightBytes(a.version), weights_b = WeightBytes(b.version);
  overall.AddRow({"weights", MiB(weights_a), MiB(weights_b),
                  absl::StrFormat("%+d bytes", weights_b - weights_a)});
  overall.AddRow({"bundle", MiB(a.version.size_bytes()), MiB(b.version.size_bytes()),
                  absl::StrFormat("%+d bytes", b.version.size_bytes() - a.version.size_bytes())});
  overall.Print(std::cout);

  std::cout << "\nper class (A = " << a.label << ", B = " << b.label << ")\n";
  Table classes({"CLASS", "PRECISION A", "B", "DELTA", "RECALL A", "B", "DELTA", "F1 A", "B",
                 "DELTA"});
  for (const std::string& category : Categories(a, b)) {
    const kiln::v1::ClassMetrics* x = FindClass(a.report, category);
    const kiln::v1::ClassMetrics* y = FindClass(b.report, category);
    std::vector<std::string> row = {category};
    auto add = [&](double (kiln::v1::ClassMetrics::*figure)() const) {
      row.push_back(x ? absl::StrFormat("%.4f", (x->*figure)()) : "-");
      row.push_back(y ? absl::StrFormat("%.4f", (y->*figure)()) : "-");
      row.push_back(x && y ? Delta((x->*figure)(), (y->*figure)()) : "-");
    };
    add(&kiln::v1::ClassMetrics::precision);
    add(&kiln::v1::ClassMetrics::recall);
    add(&kiln::v1::ClassMetrics::f1);
    classes.AddRow(std::move(row));
  }
  classes.Print(std::cout);

  std::cout << "\nlineage\n";
  for (const Side* side : {&a, &b}) {
    if (!side->note.empty()) std::cout << "  " << side->note << "\n";
  }
  if (a.version.lineage().vocabulary_hash() != b.version.lineage().vocabulary_hash()) {
    std::cout << "  the vocabularies differ (" << a.version.lineage().vocabulary_id() << ", "
              << b.version.lineage().vocabulary_id() << ")\n";
  }
  if (!a.job || !b.job) return;
  const std::vector<FieldDifference> differences = SpecDifferences(a, b);
  if (differences.empty()) {
    std::cout << "  " << a.job->id() << " and " << b.job->id() << " ran identical specs\n";
    return;
  }
  std::cout << "  spec differences (" << a.job->id() << " -> " << b.job->id() << ")\n";
  Table specs({"  FIELD", a.label, b.label});
  for (const FieldDifference& d : differences) specs.AddRow({"  " + d.field, d.a, d.b});
  specs.Print(std::cout);
}

int Compare(const CliContext& context, const std::string& first, const std::string& second) {
  absl::StatusOr<Side> a = Load(context, first);
  absl::StatusOr<Side> b = a.ok() ? Load(context, second) : a;
  if (!b.ok()) {
    std::cerr << "kiln metrics compare: " << b.status().message() << "\n";
    return b.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (context.json) {
    PrintJson(*a, *b);
  } else {
    PrintText(*a, *b);
  }
  return 0;
}

}  // namespace

void AddMetricsCompareCommand(CLI::App& metrics, CliContext& context, Action& run) {
  auto* compare = metrics.add_subcommand(
      "compare", "two versions side by side: deltas (B - A) and their specs' differences");
  auto first = std::make_shared<std::string>();
  auto second = std::make_shared<std::string>();
  compare->add_option("a", *first, "e.g. news:1")->required();
  compare->add_option("b", *second, "e.g. news:2 or news@production")->required();
  compare->callback([&context, &run, first, second] {
    run = [&context, first, second] { return Compare(context, *first, *second); };
  });
}

}  // namespace kiln::cli
