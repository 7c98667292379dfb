// kiln jobs list|show|cancel|watch: training jobs.
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_format.h"
#include "clients/cli/cli_context.h"
#include "clients/cli/job_watch.h"
#include "clients/cli/table.h"
#include "kiln/v1/training.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/proto_json.h"

namespace kiln::cli {
namespace {

std::string StateWord(kiln::v1::JobState state) {
  std::string name = kiln::v1::JobState_Name(state).substr(std::string("JOB_STATE_").size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::unique_ptr<kiln::v1::TrainingService::Stub> Stub(const CliContext& context) {
  return kiln::v1::TrainingService::NewStub(MakeChannel(context.training_address));
}

int Fail(const std::string& what, const grpc::Status& status) {
  std::cerr << "kiln jobs " << what << ": " << status.error_message() << "\n";
  return 1;
}

std::string Metric(const kiln::v1::Job& job, const std::string& name) {
  auto it = job.result().metrics().find(name);
  return it == job.result().metrics().end() ? "-" : absl::StrFormat("%.4f", it->second);
}

int List(const CliContext& context, const std::string& state, const std::string& model, int limit) {
  kiln::v1::ListJobsRequest request;
  request.set_model(model);
  request.set_page_size(limit);
  if (!state.empty()) {
    kiln::v1::JobState parsed;
    std::string upper = "JOB_STATE_" + state;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!kiln::v1::JobState_Parse(upper, &parsed)) {
      std::cerr << "kiln jobs list: --state is one of queued, running, succeeded, failed, "
                   "cancelled\n";
      return 2;
    }
    request.add_states(parsed);
  }
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::ListJobsResponse response;
  if (grpc::Status status = Stub(context)->ListJobs(&call, request, &response); !status.ok()) {
    return Fail("list", status);
  }
  if (context.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  Table table({"JOB", "MODEL", "STATE", "EPOCHS", "ATTEMPT", "WORLD", "RECALL@1", "VERSION",
               "CREATED"});
  for (const auto& job : response.jobs()) {
    table.AddRow({job.id(), job.spec().model(), StateWord(job.state()),
                  absl::StrCat(job.epochs_done(), "/", job.spec().epochs()),
                  absl::StrCat(job.attempt()), absl::StrCat(job.spec().world_size()),
                  Metric(job, "recall@1"),
                  job.result().version() > 0 ? absl::StrCat(job.result().version()) : "-",
                  FormatTime(job.created_at().seconds())});
  }
  table.Print(std::cout);
  return 0;
}

int Show(const CliContext& context, const std::string& id) {
  kiln::v1::GetJobRequest request;
  request.set_id(id);
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::Job job;
  if (grpc::Status status = Stub(context)->GetJob(&call, request, &job); !status.ok()) {
    return Fail("show", status);
  }
  if (context.json) {
    std::cout << ToJson(job) << "\n";
    return 0;
  }
  const auto& spec = job.spec();
  std::cout << job.id() << "  " << StateWord(job.state()) << "\n";
  std::cout << "  model      " << spec.model() << "\n";
  std::cout << "  topics     " << absl::StrJoin(spec.topics(), ", ") << "\n";
  const std::string weights =
      absl::AsciiStrToLower(kiln::v1::WeightEncoding_Name(spec.weight_encoding()).substr(16));
  if (spec.architecture() == kiln::v1::ARCHITECTURE_ARTICLE) {
    std::cout << absl::StrFormat(
        "  model      article: max_length %d, embedding %d, %s pooling, hidden %d, dropout %g, "
        "%s weights\n",
        spec.max_length(), spec.embedding_dim(),
        spec.pooling() == kiln::v1::POOLING_FLATTEN ? "flatten" : "average", spec.hidden_units(),
        spec.dropout(), weights);
  } else {
    std::cout << absl::StrFormat(
        "  model      tfidf: max_length %d, hidden %d, dropout %g, %s weights\n",
        spec.max_length(), spec.hidden_units(), spec.dropout(), weights);
  }
  std::cout << absl::StrFormat(
      "  training   %d epochs, batch %d, learning rate %g, seed %d, world size %d\n",
      spec.epochs(), spec.batch_size(), spec.learning_rate(), spec.seed(), spec.world_size());
  std::cout << absl::StrFormat("  validation %g of the training posts held out, patience %d\n",
                               spec.validation_fraction(), spec.early_stopping_patience());
  std::cout << "  progress   epoch " << job.epochs_done() << " of " << spec.epochs()
            << ", attempt " << job.attempt() << " of " << spec.max_attempts();
  if (job.checkpoint_epoch() > 0) std::cout << ", checkpoint of epoch " << job.checkpoint_epoch();
  std::cout << "\n";
  if (job.has_last_epoch()) {
    std::cout << absl::StrFormat("  last epoch loss %.4f, accuracy %.4f, %.0f samples/s\n",
                                 job.last_epoch().loss(), job.last_epoch().accuracy(),
                                 job.last_epoch().samples_per_second());
  }
  if (job.has_best_epoch() && job.best_epoch().validation_examples() > 0) {
    const kiln::v1::EpochMetrics& best = job.best_epoch();
    std::cout << absl::StrFormat(
        "  best epoch %d (ships): validation loss %.4f, recall@1 %.4f, recall@3 %.4f on %d posts\n",
        best.epoch(), best.validation_loss(), best.validation_recall_at_1(),
        best.validation_recall_at_3(), best.validation_examples());
  }
  if (!job.workers().empty()) std::cout << "  workers    " << absl::StrJoin(job.workers(), ", ") << "\n";
  std::cout << "  created    " << FormatTime(job.created_at().seconds()) << "\n";
  std::cout << "  started    " << FormatTime(job.started_at().seconds()) << "\n";
  std::cout << "  finished   " << FormatTime(job.finished_at().seconds()) << "\n";
  if (job.result().version() > 0) {
    std::cout << "  published  " << job.result().model() << " version " << job.result().version()
              << "\n";
    for (const auto& [name, value] : job.result().metrics()) {
      std::cout << absl::StrFormat("  %-10s %.4f\n", name, value);
    }
  }
  if (!job.error().empty()) std::cout << "  error      " << job.error() << "\n";
  return 0;
}

int Cancel(const CliContext& context, const std::string& id, const std::string& reason) {
  kiln::v1::CancelJobRequest request;
  request.set_id(id);
  request.set_reason(reason);
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::Job job;
  if (grpc::Status status = Stub(context)->CancelJob(&call, request, &job); !status.ok()) {
    return Fail("cancel", status);
  }
  if (context.json) {
    std::cout << ToJson(job) << "\n";
  } else {
    std::cout << job.id() << " cancelled\n";
  }
  return 0;
}

}  // namespace

void AddJobsCommand(CLI::App& app, CliContext& context, Action& run) {
  auto* jobs = app.add_subcommand("jobs", "list, show, cancel and watch training jobs");
  jobs->require_subcommand(1);

  auto* list = jobs->add_subcommand("list", "jobs, newest first");
  auto state = std::make_shared<std::string>();
  auto model = std::make_shared<std::string>();
  auto limit = std::make_shared<int>(50);
  list->add_option("--state", *state, "queued, running, succeeded, failed or cancelled");
  list->add_option("--model", *model, "only this model");
  list->add_option("--limit", *limit, "at most this many")->check(CLI::Range(1, 500));
  list->callback([&context, &run, state, model, limit] {
    run = [&context, state, model, limit] { return List(context, *state, *model, *limit); };
  });

  auto id = std::make_shared<std::string>();
  auto* show = jobs->add_subcommand("show", "one job in detail");
  show->add_option("id", *id, "job id, e.g. job-000001")->required();
  show->callback([&context, &run, id] { run = [&context, id] { return Show(context, *id); }; });

  auto reason = std::make_shared<std::string>();
  auto* cancel = jobs->add_subcommand("cancel", "cancel a queued or running job");
  cancel->add_option("id", *id, "job id")->required();
  cancel->add_option("--reason", *reason, "kept with the job");
  cancel->callback([&context, &run, id, reason] {
    run = [&context, id, reason] { return Cancel(context, *id, *reason); };
  });

  auto* watch = jobs->add_subcommand(
      "watch", "follow a job to its end (exit 0 succeeded, 1 failed, 4 cancelled)");
  watch->add_option("id", *id, "job id")->required();
  watch->callback([&context, &run, id] {
    run = [&context, id] { return WatchJobToEnd(context, *id); };
  });
}

}  // namespace kiln::cli
