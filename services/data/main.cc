// kiln-data: the data service. Owns schema `data` (posts).
#include "services/common/service_main.h"
#include "services/data/data_migrations.h"
#include "services/data/data_service.h"
#include "services/data/post_store.h"

int main(int argc, char** argv) {
  kiln::ServiceMain main("kiln-data", "stores posts and serves them by category and year",
                         "0.0.0.0:7001");
  main.UseDatabase("data", kiln::data::Migrations());
  if (auto exit = main.Start(argc, argv)) return *exit;
  kiln::data::PostStore store(main.pool());
  kiln::data::DataServiceImpl data_service(store);
  return main.Serve({&data_service});
}
