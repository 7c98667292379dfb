// The bootstrap every Kiln gRPC service uses: listen address, the standard
// health service, server reflection, bearer-token auth, and a graceful stop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/server.h>
#include <grpcpp/impl/codegen/service_type.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/auth/policy.h"
#include "services/common/config.h"

namespace kiln {

struct ServerSpec {
  // Program name for logs and the health service, e.g. "kiln-data".
  std::string name;
  std::string listen;
  std::shared_ptr<const auth::Policy> policy;
  // Registered in order; they must outlive the server.
  std::vector<grpc::Service*> services;
};

class GrpcServer {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(ServerSpec spec);

  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // Marks every service NOT_SERVING, then lets calls in flight finish for
  // up to `grace` before cancelling them.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port)
      : server_(std::move(server)), port_(port) {}

  std::unique_ptr<grpc::Server> server_;
  int port_;
};

// Builds the auth policy from a service's configuration.
absl::StatusOr<std::shared_ptr<const auth::Policy>> MakePolicy(const ServiceConfig& config);

// Blocks SIGTERM and SIGINT in this thread and every thread it starts later;
// call it first in main() so that WaitForTerminationSignal() receives them.
void BlockTerminationSignals();

// Waits until SIGTERM or SIGINT arrives; returns its number.
int WaitForTerminationSignal();

}  // namespace kiln
