// The start-up every Kiln service shares: flags and KILN_* variables,
// logging, the auth policy, its PostgreSQL schema, and serving until
// SIGTERM. A service's main() only adds its own options and services:
//
//   kiln::ServiceMain main("kiln-data", "stores posts ...", "0.0.0.0:7001");
//   main.UseDatabase("data", kiln::data::Migrations());
//   if (auto exit = main.Start(argc, argv)) return *exit;
//   kiln::data::PostStore store(main.pool());
//   ...
//   return main.Serve({&service});
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/impl/codegen/service_type.h>

#include "CLI/CLI.hpp"
#include "services/common/config.h"
#include "services/common/db/migrations.h"
#include "services/common/db/pool.h"
#include "services/common/server.h"

namespace kiln {

class ServiceMain {
 public:
  // Blocks SIGTERM/SIGINT first, so that every thread started later leaves
  // them to Serve().
  ServiceMain(std::string name, const std::string& description, const std::string& default_listen);

  // For the service's own options, before Start().
  CLI::App& app() { return app_; }
  // Adds --token/KILN_TOKEN for calls to other services.
  const ClientConfig& UseClient();
  // Adds the database options; Start() then migrates `schema`.
  void UseDatabase(std::string schema, std::vector<db::Migration> migrations);

  // Parses the command line and prepares logging, auth and the database.
  // Returns the exit code when the program should end (--help, bad flags,
  // an unreachable database), nothing when it should go on.
  std::optional<int> Start(int argc, char** argv);

  db::Pool& pool() { return *pool_; }
  const ServiceConfig& config() const { return service_; }

  // Serves until SIGTERM/SIGINT, then stops gRPC gracefully and runs
  // `after_stop` (e.g. to stop a second server); returns the exit code.
  int Serve(std::vector<grpc::Service*> services, const std::function<void()>& after_stop = {});

 private:
  const std::string name_;
  CLI::App app_;
  ServiceConfig service_;
  ClientConfig client_;
  DatabaseConfig database_;
  std::string schema_;
  std::vector<db::Migration> migrations_;
  std::shared_ptr<const auth::Policy> policy_;
  std::unique_ptr<db::Pool> pool_;
};

}  // namespace kiln
