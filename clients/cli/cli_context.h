// What every `kiln` subcommand shares: where the services are, the token,
// and whether to print JSON for scripts.
#pragma once

#include <functional>
#include <string>

#include "CLI/CLI.hpp"

namespace kiln::cli {

struct CliContext {
  std::string token;
  bool json = false;
  std::string data_address = "127.0.0.1:7001";
  std::string preprocess_address = "127.0.0.1:7002";
  std::string training_address = "127.0.0.1:7003";
  std::string evaluation_address = "127.0.0.1:7004";
  std::string registry_address = "127.0.0.1:7005";
};

// Each subcommand registers itself on the app; `run` is set to its action,
// which returns the process exit code.
using Action = std::function<int()>;

void AddHealthCommand(CLI::App& app, CliContext& context, Action& run);
void AddIngestCommand(CLI::App& app, CliContext& context, Action& run);
void AddTrainCommand(CLI::App& app, CliContext& context, Action& run);
void AddJobsCommand(CLI::App& app, CliContext& context, Action& run);
void AddModelsCommand(CLI::App& app, CliContext& context, Action& run);
void AddMetricsCommand(CLI::App& app, CliContext& context, Action& run);
// `kiln metrics compare`, on the metrics subcommand.
void AddMetricsCompareCommand(CLI::App& metrics, CliContext& context, Action& run);
void AddBundleCommands(CLI::App& app, CliContext& context, Action& run);
void AddPostsCommands(CLI::App& app, CliContext& context, Action& run);
// `kiln sweep` and `kiln sweeps show|list`.
void AddSweepCommands(CLI::App& app, CliContext& context, Action& run);

}  // namespace kiln::cli
