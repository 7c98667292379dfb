// kiln health ADDRESS: is a service serving?
#include "clients/cli/cli_context.h"
#include "clients/cli/health_check.h"

namespace kiln::cli {

void AddHealthCommand(CLI::App& app, CliContext& context, Action& run) {
  auto* command = app.add_subcommand("health", "check that a Kiln service is serving");
  auto address = std::make_shared<std::string>();
  auto timeout = std::make_shared<double>(3.0);
  command->add_option("address", *address, "service host:port")->required();
  command->add_option("--timeout", *timeout, "seconds to wait")->capture_default_str();
  command->callback([&context, &run, address, timeout] {
    run = [&context, address, timeout] {
      return CheckHealth(*address, context.token, *timeout, context.json);
    };
  });
}

}  // namespace kiln::cli
