#include "services/common/service_main.h"

#include <cstring>

#include "services/common/database.h"
#include "services/common/log.h"

namespace kiln {

ServiceMain::ServiceMain(std::string name, const std::string& description,
                         const std::string& default_listen)
    : name_(std::move(name)), app_(name_ + ": " + description) {
  BlockTerminationSignals();
  AddServiceOptions(app_, service_, default_listen);
}

const ClientConfig& ServiceMain::UseClient() {
  AddClientOptions(app_, client_);
  return client_;
}

void ServiceMain::UseDatabase(std::string schema, std::vector<db::Migration> migrations) {
  AddDatabaseOptions(app_, database_);
  schema_ = std::move(schema);
  migrations_ = std::move(migrations);
}

std::optional<int> ServiceMain::Start(int argc, char** argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app_.exit(error);
  }
  log::SetProgramName(name_);
  (void)log::SetLevel(service_.log_level);  // CLI11 checked the names
  (void)log::SetFormat(service_.log_format);
  absl::StatusOr<std::shared_ptr<const auth::Policy>> policy = MakePolicy(service_);
  if (!policy.ok()) {
    log::Error(policy.status().message());
    return 2;
  }
  policy_ = *std::move(policy);
  if (!schema_.empty()) {
    absl::StatusOr<std::unique_ptr<db::Pool>> pool = OpenDatabase(database_, schema_, migrations_);
    if (!pool.ok()) {
      log::Error(pool.status().message());
      return 1;
    }
    pool_ = *std::move(pool);
  }
  return std::nullopt;
}

int ServiceMain::Serve(std::vector<grpc::Service*> services,
                       const std::function<void()>& after_stop) {
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start({name_, service_.listen, policy_, std::move(services)});
  if (!server.ok()) {
    log::Error(server.status().message());
    return 1;
  }
  const int signal = WaitForTerminationSignal();
  log::Info("received ", strsignal(signal), ", shutting down");
  (*server)->Shutdown(absl::Seconds(service_.shutdown_grace_seconds));
  if (after_stop) after_stop();
  log::Info("stopped");
  return 0;
}

}  // namespace kiln
