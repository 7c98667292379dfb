// kiln-health ADDRESS: the gRPC health probe of the container healthchecks.
// A program of its own, without libtorch, so the serving image stays small.
#include "CLI/CLI.hpp"
#include "clients/cli/health_check.h"

int main(int argc, char** argv) {
  std::string address;
  double timeout = 3.0;
  CLI::App app{"kiln-health: exits 0 when the Kiln service at ADDRESS is serving"};
  app.add_option("address", address, "service host:port")->required();
  app.add_option("--timeout", timeout, "seconds to wait")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return kiln::cli::CheckHealth(address, "", timeout, /*json=*/false);
}
