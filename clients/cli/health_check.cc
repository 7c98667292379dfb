#include "clients/cli/health_check.h"

#include <iostream>

#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/client.h"

namespace kiln::cli {

int CheckHealth(const std::string& address, const std::string& token, double timeout_seconds,
                bool json) {
  auto stub = grpc::health::v1::Health::NewStub(MakeChannel(address));
  grpc::ClientContext call;
  PrepareContext(call, token, absl::Seconds(timeout_seconds));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&call, {}, &response);
  const bool serving =
      status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  const std::string state =
      status.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
                  : "UNREACHABLE";
  if (json) {
    std::cout << "{\"address\":\"" << address << "\",\"status\":\"" << state << "\"}\n";
  } else if (status.ok()) {
    std::cout << address << ": " << state << "\n";
  } else {
    std::cerr << address << ": " << status.error_message() << "\n";
  }
  return serving ? 0 : 1;
}

}  // namespace kiln::cli
