// kiln-evaluation: the evaluation service. Owns schema `evaluation`
// (reports); reads posts from the data service and published bundles from
// the registry.
#include "services/common/client.h"
#include "services/common/service_main.h"
#include "services/data/data_client.h"
#include "services/evaluation/evaluation_migrations.h"
#include "services/evaluation/evaluation_service.h"
#include "services/registry/registry_client.h"

int main(int argc, char** argv) {
  kiln::ServiceMain main("kiln-evaluation",
                         "scores TF.js bundles on test posts and keeps the reports",
                         "0.0.0.0:7004");
  main.UseDatabase("evaluation", kiln::evaluation::Migrations());
  const kiln::ClientConfig& client = main.UseClient();
  std::string data_address = "127.0.0.1:7001";
  std::string registry_address = "127.0.0.1:7005";
  kiln::AddOption(main.app(), "data-address", data_address, "KILN_DATA_ADDRESS",
                  "data service host:port");
  kiln::AddOption(main.app(), "registry-address", registry_address, "KILN_REGISTRY_ADDRESS",
                  "registry service host:port");
  if (auto exit = main.Start(argc, argv)) return *exit;

  kiln::evaluation::ReportStore reports(main.pool());
  kiln::data::DataClient posts(kiln::MakeChannel(data_address), client.token);
  kiln::registry::RegistryClient registry(kiln::MakeChannel(registry_address), client.token);
  kiln::evaluation::EvaluationServiceImpl evaluation_service(
      reports, posts,
      [&registry](const kiln::v1::VersionRef& ref)
          -> absl::StatusOr<kiln::evaluation::FetchedVersion> {
        auto downloaded = registry.Download(ref);
        if (!downloaded.ok()) return downloaded.status();
        return kiln::evaluation::FetchedVersion{downloaded->first.version(),
                                                std::move(downloaded->second)};
      });
  return main.Serve({&evaluation_service});
}
