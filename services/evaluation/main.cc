// kiln-evaluation: the evaluation service. Owns schema `evaluation`
// (reports); reads posts from the data service and published bundles from
// the registry.
#include "services/common/client.h"
#include "services/common/database.h"
#include "services/common/log.h"
#include "services/common/server.h"
#include "services/data/data_client.h"
#include "services/evaluation/evaluation_migrations.h"
#include "services/evaluation/evaluation_service.h"
#include "services/registry/client/registry_client.h"

int main(int argc, char** argv) {
  kiln::BlockTerminationSignals();
  kiln::ServiceConfig service;
  kiln::DatabaseConfig database;
  kiln::ClientConfig client;
  std::string data_address = "127.0.0.1:7001";
  std::string registry_address = "127.0.0.1:7005";
  CLI::App app{"kiln-evaluation: scores TF.js bundles on test posts and keeps the reports"};
  kiln::AddServiceOptions(app, service, "0.0.0.0:7004");
  kiln::AddDatabaseOptions(app, database);
  kiln::AddClientOptions(app, client);
  kiln::AddOption(app, "data-address", data_address, "KILN_DATA_ADDRESS",
                  "data service host:port");
  kiln::AddOption(app, "registry-address", registry_address, "KILN_REGISTRY_ADDRESS",
                  "registry service host:port");
  CLI11_PARSE(app, argc, argv);

  kiln::log::SetProgramName("kiln-evaluation");
  (void)kiln::log::SetLevel(service.log_level);
  auto policy = kiln::MakePolicy(service);
  if (!policy.ok()) {
    kiln::log::Error(policy.status().message());
    return 2;
  }
  auto pool = kiln::OpenDatabase(database, "evaluation", kiln::evaluation::Migrations());
  if (!pool.ok()) {
    kiln::log::Error(pool.status().message());
    return 1;
  }
  kiln::evaluation::ReportStore reports(**pool);
  kiln::data::DataClient posts(kiln::MakeChannel(data_address), client.token);
  kiln::registry::RegistryClient registry(kiln::MakeChannel(registry_address), client.token);
  kiln::evaluation::EvaluationServiceImpl evaluation_service(
      reports, posts, [&registry](const kiln::v1::VersionRef& ref) -> absl::StatusOr<kiln::registry::Files> {
        auto downloaded = registry.Download(ref);
        if (!downloaded.ok()) return downloaded.status();
        return std::move(downloaded->second);
      });
  return kiln::ServeUntilSignal(
      {"kiln-evaluation", service.listen, *policy, {&evaluation_service}}, service);
}
