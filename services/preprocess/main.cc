// kiln-preprocess: the preprocessing service. Owns schema `preprocess`
// (vocabularies); reads posts from the data service.
#include "services/common/client.h"
#include "services/common/database.h"
#include "services/common/log.h"
#include "services/common/server.h"
#include "services/data/data_client.h"
#include "services/preprocess/preprocess_migrations.h"
#include "services/preprocess/preprocess_service.h"

int main(int argc, char** argv) {
  kiln::BlockTerminationSignals();
  kiln::ServiceConfig service;
  kiln::DatabaseConfig database;
  kiln::ClientConfig client;
  std::string data_address = "127.0.0.1:7001";
  CLI::App app{"kiln-preprocess: builds vocabularies and encodes posts into sequences"};
  kiln::AddServiceOptions(app, service, "0.0.0.0:7002");
  kiln::AddDatabaseOptions(app, database);
  kiln::AddClientOptions(app, client);
  kiln::AddOption(app, "data-address", data_address, "KILN_DATA_ADDRESS",
                  "data service host:port");
  CLI11_PARSE(app, argc, argv);

  kiln::log::SetProgramName("kiln-preprocess");
  (void)kiln::log::SetLevel(service.log_level);
  auto policy = kiln::MakePolicy(service);
  if (!policy.ok()) {
    kiln::log::Error(policy.status().message());
    return 2;
  }
  auto pool = kiln::OpenDatabase(database, "preprocess", kiln::preprocess::Migrations());
  if (!pool.ok()) {
    kiln::log::Error(pool.status().message());
    return 1;
  }
  kiln::preprocess::VocabularyStore vocabularies(**pool);
  kiln::data::DataClient posts(kiln::MakeChannel(data_address), client.token);
  kiln::preprocess::PreprocessServiceImpl preprocess_service(vocabularies, posts);
  return kiln::ServeUntilSignal(
      {"kiln-preprocess", service.listen, *policy, {&preprocess_service}}, service);
}
