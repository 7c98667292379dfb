// kiln-preprocess: the preprocessing service. Owns schema `preprocess`
// (vocabularies); reads posts from the data service.
#include "services/common/client.h"
#include "services/common/service_main.h"
#include "services/data/data_client.h"
#include "services/preprocess/preprocess_migrations.h"
#include "services/preprocess/preprocess_service.h"

int main(int argc, char** argv) {
  kiln::ServiceMain main("kiln-preprocess", "builds vocabularies and encodes posts into sequences",
                         "0.0.0.0:7002");
  main.UseDatabase("preprocess", kiln::preprocess::Migrations());
  const kiln::ClientConfig& client = main.UseClient();
  std::string data_address = "127.0.0.1:7001";
  kiln::AddOption(main.app(), "data-address", data_address, "KILN_DATA_ADDRESS",
                  "data service host:port");
  if (auto exit = main.Start(argc, argv)) return *exit;

  kiln::preprocess::VocabularyStore vocabularies(main.pool());
  kiln::data::DataClient posts(kiln::MakeChannel(data_address), client.token);
  kiln::preprocess::PreprocessServiceImpl preprocess_service(vocabularies, posts);
  return main.Serve({&preprocess_service});
}
