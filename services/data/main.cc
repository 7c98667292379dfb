// kiln-data: the data service. Owns schema `data` (posts).
#include "services/common/database.h"
#include "services/common/log.h"
#include "services/common/server.h"
#include "services/data/data_migrations.h"
#include "services/data/data_service.h"
#include "services/data/post_store.h"

int main(int argc, char** argv) {
  kiln::BlockTerminationSignals();
  kiln::ServiceConfig service;
  kiln::DatabaseConfig database;
  CLI::App app{"kiln-data: stores posts and serves them by category and year"};
  kiln::AddServiceOptions(app, service, "0.0.0.0:7001");
  kiln::AddDatabaseOptions(app, database);
  CLI11_PARSE(app, argc, argv);

  kiln::log::SetProgramName("kiln-data");
  (void)kiln::log::SetLevel(service.log_level);
  auto policy = kiln::MakePolicy(service);
  if (!policy.ok()) {
    kiln::log::Error(policy.status().message());
    return 2;
  }
  auto pool = kiln::OpenDatabase(database, "data", kiln::data::Migrations());
  if (!pool.ok()) {
    kiln::log::Error(pool.status().message());
    return 1;
  }
  kiln::data::PostStore store(**pool);
  kiln::data::DataServiceImpl data_service(store);
  return kiln::ServeUntilSignal({"kiln-data", service.listen, *policy, {&data_service}}, service);
}
