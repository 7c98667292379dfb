// kiln: the command-line client of a Kiln deployment.
#include <iostream>

#include "CLI/CLI.hpp"
#include "clients/cli/cli_context.h"
#include "services/common/config.h"

int main(int argc, char** argv) {
  kiln::cli::CliContext context;
  kiln::cli::Action run;

  CLI::App app{"kiln: train text classifiers on posts and ship them as TF.js bundles"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  kiln::AddOption(app, "token", context.token, "KILN_TOKEN", "bearer token for write RPCs");
  app.add_flag("--json", context.json, "print machine-readable JSON");
  kiln::AddOption(app, "data", context.data_address, "KILN_DATA_ADDRESS",
                  "data service host:port");
  kiln::AddOption(app, "preprocess", context.preprocess_address, "KILN_PREPROCESS_ADDRESS",
                  "preprocess service host:port");
  kiln::AddOption(app, "training", context.training_address, "KILN_TRAINING_ADDRESS",
                  "training service host:port");
  kiln::AddOption(app, "evaluation", context.evaluation_address, "KILN_EVALUATION_ADDRESS",
                  "evaluation service host:port");
  kiln::AddOption(app, "registry", context.registry_address, "KILN_REGISTRY_ADDRESS",
                  "registry service host:port");

  kiln::cli::AddHealthCommand(app, context, run);
  kiln::cli::AddIngestCommand(app, context, run);
  kiln::cli::AddPostsCommands(app, context, run);
  kiln::cli::AddTrainCommand(app, context, run);
  kiln::cli::AddJobsCommand(app, context, run);
  kiln::cli::AddModelsCommand(app, context, run);
  kiln::cli::AddMetricsCommand(app, context, run);
  kiln::cli::AddSweepCommands(app, context, run);
  kiln::cli::AddBundleCommands(app, context, run);

  CLI11_PARSE(app, argc, argv);
  return run ? run() : 2;
}
