// kiln health ADDRESS: asks a service's standard gRPC health service; exits 0
// when it is SERVING. Used by the compose healthchecks.
#include <iostream>

#include "absl/time/time.h"
#include "clients/cli/cli_context.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/client.h"

namespace kiln::cli {
namespace {

int CheckHealth(const CliContext& context, const std::string& address, double timeout_seconds) {
  auto stub = grpc::health::v1::Health::NewStub(MakeChannel(address));
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(timeout_seconds));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&call, {}, &response);
  const bool serving =
      status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  const std::string state =
      status.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
                  : "UNREACHABLE";
  if (context.json) {
    std::cout << "{\"address\":\"" << address << "\",\"status\":\"" << state << "\"}\n";
  } else if (status.ok()) {
    std::cout << address << ": " << state << "\n";
  } else {
    std::cerr << address << ": " << status.error_message() << "\n";
  }
  return serving ? 0 : 1;
}

}  // namespace

void AddHealthCommand(CLI::App& app, CliContext& context, Action& run) {
  auto* command = app.add_subcommand("health", "check that a Kiln service is serving");
  auto address = std::make_shared<std::string>();
  auto timeout = std::make_shared<double>(3.0);
  command->add_option("address", *address, "service host:port")->required();
  command->add_option("--timeout", *timeout, "seconds to wait")->capture_default_str();
  command->callback([&context, &run, address, timeout] {
    run = [&context, address, timeout] { return CheckHealth(context, *address, *timeout); };
  });
}

}  // namespace kiln::cli
