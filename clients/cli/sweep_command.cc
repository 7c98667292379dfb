// kiln sweep: submits a hyperparameter sweep, follows its jobs in a table
// ranked by validation recall@1 until they all end, and optionally moves an
// alias to the winner. kiln sweeps show|list: sweeps stored by the
// training service.
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "clients/cli/cli_context.h"
#include "clients/cli/job_watch.h"
#include "clients/cli/metric_requirement.h"
#include "clients/cli/spec_file.h"
#include "clients/cli/sweep_table.h"
#include "clients/cli/table.h"
#include "kiln/v1/registry.grpc.pb.h"
#include "kiln/v1/sweep.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/proto_json.h"
#include "services/registry/registry_names.h"

namespace kiln::cli {
namespace {

constexpr int kExitBadInput = 2;
// The registry refused to move the alias (a --require failed).
constexpr int kExitRefused = 3;
constexpr absl::Duration kPollInterval = absl::Seconds(1);

struct SweepOptions {
  std::string spec_file;
  std::vector<std::string> grid;
  int random = 0;
  int64_t seed = 0;
  std::string name;
  std::string description;
  std::string promote;
  std::string alias = "candidate";
  std::vector<std::string> requirements;
  bool no_wait = false;
};

std::unique_ptr<kiln::v1::SweepService::Stub> Stub(const CliContext& context) {
  return kiln::v1::SweepService::NewStub(MakeChannel(context.training_address));
}

bool Ended(kiln::v1::JobState state) {
  return state == kiln::v1::JOB_STATE_SUCCEEDED || state == kiln::v1::JOB_STATE_FAILED ||
         state == kiln::v1::JOB_STATE_CANCELLED;
}

bool AllEnded(const kiln::v1::GetSweepResponse& sweep) {
  for (const auto& job : sweep.jobs()) {
    if (!Ended(job.state())) return false;
  }
  return true;
}

// "job-000012 (epochs=1): running, epoch 1/2": a job's news, in plain output.
std::string ProgressLine(const kiln::v1::GetSweepResponse& sweep, int position) {
  const kiln::v1::Job& job = sweep.jobs(position);
  std::vector<std::string> values;
  const auto& plan = sweep.sweep().plan();
  for (int k = 0; k < plan.grid_size() && position < sweep.sweep().trials_size(); ++k) {
    if (k < sweep.sweep().trials(position).values_size()) {
      values.push_back(absl::StrCat(plan.grid(k).field(), "=",
                                    sweep.sweep().trials(position).values(k)));
    }
  }
  std::string state = absl::AsciiStrToLower(
      kiln::v1::JobState_Name(job.state()).substr(sizeof("JOB_STATE_") - 1));
  std::string line = absl::StrCat(job.id(), " (", absl::StrJoin(values, ", "), "): ", state,
                                  ", epoch ", job.epochs_done(), "/", job.spec().epochs());
  auto recall = job.result().metrics().find("recall@1");
  if (recall != job.result().metrics().end()) {
    absl::StrAppend(&line, absl::StrFormat(", test recall@1 %.4f", recall->second));
  }
  if (job.result().version() > 0) {
    absl::StrAppend(&line, ", published ", job.result().model(), ":", job.result().version());
  }
  if (!job.error().empty()) absl::StrAppend(&line, ": ", job.error());
  return line;
}

std::string BestLine(const kiln::v1::GetSweepResponse& sweep, int best) {
  if (best < 0) return "best: none yet (no job has succeeded and published a version)";
  const kiln::v1::Job& job = sweep.jobs(best);
  return absl::StrCat("best: ", job.id(), " (", job.result().model(), ":",
                      job.result().version(), ")");
}

nlohmann::json SweepJson(const kiln::v1::GetSweepResponse& sweep,
                         const std::vector<int>& ranking, int best) {
  nlohmann::json out = nlohmann::json::parse(ToJson(sweep));
  out["ranking"] = nlohmann::json::array();
  for (int position : ranking) out["ranking"].push_back(sweep.jobs(position).id());
  out["best_job"] = best < 0 ? nlohmann::json(nullptr) : nlohmann::json(sweep.jobs(best).id());
  return out;
}

// Reads the sweep; while the training service is unreachable (a restart,
// a network cut) it keeps trying for kWatchReconnectFor.
grpc::Status ReadSweep(const CliContext& context, const std::string& id,
                       kiln::v1::GetSweepResponse* response) {
  auto stub = Stub(context);
  const absl::Time give_up = absl::Now() + kWatchReconnectFor;
  kiln::v1::GetSweepRequest request;
  request.set_id(id);
  for (;;) {
    grpc::ClientContext call;
    PrepareContext(call, context.token, absl::Seconds(30));
    grpc::Status status = stub->GetSweep(&call, request, response);
    const bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!transient || absl::Now() >= give_up) return status;
    absl::SleepFor(kPollInterval);
  }
}

int ExitFor(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return kExitJobUnknown;
  }
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitBadInput : 1;
}

// Terminal rows `text` takes: a line wider than the terminal wraps, and a
// redraw must climb over every row of the previous table.
int TerminalRows(const std::string& text) {
  winsize size{};
  const int columns =
      ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
  int rows = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    rows += std::max<int>(1, (static_cast<int>(line.size()) + columns - 1) / columns);
  }
  return rows;
}

// Polls the sweep until every job has ended, redrawing its table in place
// on a terminal (when it changed) and printing a line per change otherwise.
grpc::Status Follow(const CliContext& context, const std::string& id,
                    kiln::v1::GetSweepResponse* sweep) {
  const bool live = !context.json && isatty(STDOUT_FILENO) == 1;
  std::string drawn;
  std::map<std::string, std::string> reported;
  for (;;) {
    if (grpc::Status status = ReadSweep(context, id, sweep); !status.ok()) return status;
    if (live) {
      std::string table = SweepTable(*sweep, RankSweepJobs(*sweep));
      if (table != drawn) {
        // Back to the first row of the previous table, cleared to the end.
        if (!drawn.empty()) std::cout << "\x1b[" << TerminalRows(drawn) << "F\x1b[J";
        std::cout << table << std::flush;
        drawn = std::move(table);
      }
    } else if (!context.json) {
      for (int i = 0; i < sweep->jobs_size(); ++i) {
        std::string line = ProgressLine(*sweep, i);
        std::string& last = reported[sweep->jobs(i).id()];
        if (line != last) std::cout << line << std::endl;
        last = std::move(line);
      }
    }
    if (AllEnded(*sweep)) return grpc::Status::OK;
    absl::SleepFor(kPollInterval);
  }
}

// Moves the alias to the winner's version; the registry checks the gates.
int Promote(const CliContext& context, const kiln::v1::Job& winner, const SweepOptions& options,
            const std::vector<kiln::v1::MetricRequirement>& requirements,
            nlohmann::json* json) {
  kiln::v1::SetAliasRequest request;
  request.set_model(winner.result().model());
  request.set_alias(options.alias);
  request.set_version(winner.result().version());
  for (const auto& requirement : requirements) *request.add_requirements() = requirement;
  auto registry = kiln::v1::RegistryService::NewStub(MakeChannel(context.registry_address));
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::Alias moved;
  if (grpc::Status status = registry->SetAlias(&call, request, &moved); !status.ok()) {
    std::cerr << "kiln sweep: " << winner.result().model() << "@" << options.alias
              << " was not moved to version " << winner.result().version() << " ("
              << winner.id() << "): " << status.error_message() << "\n";
    return status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ? kExitRefused : 1;
  }
  if (json) {
    (*json)["promoted"] = nlohmann::json::parse(ToJson(moved));
  } else {
    std::cout << moved.model() << "@" << moved.name() << " -> version " << moved.version()
              << " (" << winner.id() << ")\n";
  }
  return 0;
}

int Sweep(const CliContext& context, const SweepOptions& options) {
  // Everything a person can get wrong is checked before anything is queued.
  kiln::v1::CreateSweepRequest request;
  kiln::v1::SweepPlan& plan = *request.mutable_plan();
  if (!options.spec_file.empty()) {
    absl::StatusOr<kiln::v1::JobSpec> spec = ReadJobSpecFile(options.spec_file);
    if (!spec.ok()) {
      std::cerr << "kiln sweep: " << spec.status().message() << "\n";
      return kExitBadInput;
    }
    *plan.mutable_base_spec() = *std::move(spec);
  }
  for (const std::string& text : options.grid) {
    absl::StatusOr<kiln::v1::GridAxis> axis = ParseGridFlag(text);
    if (!axis.ok()) {
      std::cerr << "kiln sweep: " << axis.status().message() << "\n";
      return kExitBadInput;
    }
    *plan.add_grid() = *std::move(axis);
  }
  plan.set_random_count(options.random);
  plan.set_random_seed(static_cast<uint64_t>(options.seed));
  plan.set_name(options.name);
  plan.set_description(options.description);
  std::vector<kiln::v1::MetricRequirement> requirements;
  for (const std::string& text : options.requirements) {
    absl::StatusOr<kiln::v1::MetricRequirement> requirement = ParseRequirement(text);
    if (!requirement.ok()) {
      std::cerr << "kiln sweep: " << requirement.status().message() << "\n";
      return kExitBadInput;
    }
    requirements.push_back(*std::move(requirement));
  }
  const bool promote = !options.promote.empty();
  if (promote && (!IsValidAliasName(options.alias) ||
                  options.alias == registry::kLatestAlias)) {
    std::cerr << "kiln sweep: --alias \"" << options.alias
              << "\" is not an alias one can move: [a-z][a-z0-9_-]{0,31}, not latest\n";
    return kExitBadInput;
  }

  kiln::v1::Sweep created;
  {
    grpc::ClientContext call;
    PrepareContext(call, context.token, absl::Seconds(60));
    if (grpc::Status status = Stub(context)->CreateSweep(&call, request, &created);
        !status.ok()) {
      std::cerr << "kiln sweep: " << status.error_message() << "\n";
      return ExitFor(status);
    }
  }
  if (options.no_wait) {
    if (context.json) {
      std::cout << ToJson(created) << std::endl;
    } else {
      std::cout << "created " << created.id() << " with " << created.trials_size() << " jobs\n";
    }
    return 0;
  }
  if (!context.json) {
    std::cout << "created " << created.id() << " with " << created.trials_size() << " jobs"
              << std::endl;
  }
  kiln::v1::GetSweepResponse sweep;
  if (grpc::Status status = Follow(context, created.id(), &sweep); !status.ok()) {
    std::cerr << "kiln sweep: following " << created.id() << ": " << status.error_message()
              << "\n";
    return ExitFor(status);
  }
  const std::vector<int> ranking = RankSweepJobs(sweep);
  const int best = BestSweepJob(sweep, ranking);
  nlohmann::json json = SweepJson(sweep, ranking, best);
  if (!context.json) {
    // A live table is on screen already.
    if (isatty(STDOUT_FILENO) != 1) std::cout << SweepTable(sweep, ranking);
    std::cout << BestLine(sweep, best) << "\n";
  }
  const bool all_succeeded =
      std::all_of(sweep.jobs().begin(), sweep.jobs().end(), [](const kiln::v1::Job& job) {
        return job.state() == kiln::v1::JOB_STATE_SUCCEEDED;
      });
  int exit = all_succeeded ? 0 : kExitJobFailed;
  if (promote) {
    if (best < 0) {
      std::cerr << "kiln sweep: no job of " << created.id()
                << " succeeded and published a version; no alias moved\n";
      exit = kExitJobFailed;
    } else if (int promoted = Promote(context, sweep.jobs(best), options, requirements,
                                      context.json ? &json : nullptr);
               promoted != 0) {
      exit = promoted;
    }
  }
  if (context.json) std::cout << json.dump() << std::endl;
  return exit;
}

int Show(const CliContext& context, const std::string& id) {
  kiln::v1::GetSweepResponse sweep;
  if (grpc::Status status = ReadSweep(context, id, &sweep); !status.ok()) {
    std::cerr << "kiln sweeps show: " << status.error_message() << "\n";
    return ExitFor(status);
  }
  const std::vector<int> ranking = RankSweepJobs(sweep);
  const int best = BestSweepJob(sweep, ranking);
  if (context.json) {
    std::cout << SweepJson(sweep, ranking, best).dump() << "\n";
    return 0;
  }
  std::cout << SweepTable(sweep, ranking) << BestLine(sweep, best) << "\n";
  return 0;
}

int List(const CliContext& context, int limit) {
  kiln::v1::ListSweepsRequest request;
  request.set_page_size(limit);
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::ListSweepsResponse response;
  if (grpc::Status status = Stub(context)->ListSweeps(&call, request, &response); !status.ok()) {
    std::cerr << "kiln sweeps list: " << status.error_message() << "\n";
    return ExitFor(status);
  }
  if (context.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  Table table({"SWEEP", "NAME", "GRID", "JOBS", "ENDED", "SUCCEEDED", "CREATED"});
  for (const auto& sweep : response.sweeps()) {
    std::vector<std::string> fields;
    for (const auto& axis : sweep.plan().grid()) fields.push_back(axis.field());
    std::string grid = absl::StrJoin(fields, ",");
    if (sweep.plan().random_count() > 0) {
      absl::StrAppend(&grid, " (", sweep.plan().random_count(), " drawn)");
    }
    table.AddRow({sweep.id(), sweep.plan().name().empty() ? "-" : sweep.plan().name(), grid,
                  absl::StrCat(sweep.trials_size()), absl::StrCat(sweep.jobs_ended()),
                  absl::StrCat(sweep.jobs_succeeded()),
                  FormatTime(sweep.created_at().seconds())});
  }
  table.Print(std::cout);
  return 0;
}

}  // namespace

void AddSweepCommands(CLI::App& app, CliContext& context, Action& run) {
  auto* sweep = app.add_subcommand(
      "sweep", "run one job per combination of a grid and rank them by validation recall@1");
  auto o = std::make_shared<SweepOptions>();
  sweep->add_option("--spec", o->spec_file, "JSON base job spec (kiln.v1.JobSpec)")
      ->check(CLI::ExistingFile);
  sweep->add_option("--grid", o->grid, "FIELD=V1,V2,... (repeatable), e.g. learning_rate=1e-3,5e-3")
      ->required();
  sweep->add_option("--random", o->random, "draw N distinct combinations instead of all")
      ->check(CLI::Range(1, 256));
  sweep->add_option("--seed", o->seed, "seed of the --random draw (default 0)")
      ->check(CLI::NonNegativeNumber);
  sweep->add_option("--name", o->name, "shown in listings");
  sweep->add_option("--description", o->description, "free text");
  auto* promote = sweep->add_option("--promote", o->promote,
                                    "BEST: move --alias to the winner's version at the end")
                      ->check(CLI::IsMember({"BEST"}, CLI::ignore_case));
  sweep->add_option("--alias", o->alias, "alias --promote moves")->capture_default_str();
  sweep->add_option("--require", o->requirements,
                    "gate of --promote, e.g. 'recall@1>=0.85' (repeatable)");
  sweep->add_flag("--no-wait", o->no_wait, "return after creating the sweep")->excludes(promote);
  sweep->callback([&context, &run, o] { run = [&context, o] { return Sweep(context, *o); }; });

  auto* sweeps = app.add_subcommand("sweeps", "show and list stored sweeps");
  sweeps->require_subcommand(1);
  auto id = std::make_shared<std::string>();
  auto* show = sweeps->add_subcommand("show", "a sweep's jobs ranked, as kiln sweep prints them");
  show->add_option("id", *id, "sweep id, e.g. sweep-000001")->required();
  show->callback([&context, &run, id] { run = [&context, id] { return Show(context, *id); }; });
  auto limit = std::make_shared<int>(50);
  auto* list = sweeps->add_subcommand("list", "sweeps, newest first");
  list->add_option("--limit", *limit, "at most this many")->check(CLI::Range(1, 500));
  list->callback([&context, &run, limit] {
    run = [&context, limit] { return List(context, *limit); };
  });
}

}  // namespace kiln::cli
