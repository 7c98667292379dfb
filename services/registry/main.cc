// kiln-registry: the model registry. Owns schema `registry` (models,
// versions, aliases, blobs); serves gRPC and, for browsers, read-only HTTP
// from one process.
#include <cstdint>

#include "services/common/log.h"
#include "services/common/service_main.h"
#include "services/registry/http_server.h"
#include "services/registry/publish_budget.h"
#include "services/registry/registry_migrations.h"
#include "services/registry/registry_service.h"
#include "services/registry/registry_store.h"
#include "services/registry/serving_cache.h"

int main(int argc, char** argv) {
  kiln::ServiceMain main("kiln-registry", "stores model versions and serves them over gRPC and HTTP",
                         "0.0.0.0:7005");
  main.UseDatabase("registry", kiln::registry::Migrations());
  CLI::App& app = main.app();
  kiln::registry::HttpConfig http;
  int64_t blob_cache_mib = 256;
  int metadata_ttl_ms = 1000;
  int64_t max_publish_mib = 1024;
  kiln::AddOption(app, "http-listen", http.listen, "KILN_HTTP_LISTEN",
                  "HTTP listen address host:port for browsers (port 0 picks a free port)");
  kiln::AddOption(app, "http-threads", http.threads, "KILN_HTTP_THREADS",
                  "HTTP threads, each serving many connections")
      ->check(CLI::Range(1, 256));
  kiln::AddOption(app, "http-max-connections", http.max_connections,
                  "KILN_HTTP_MAX_CONNECTIONS",
                  "open HTTP connections at most; more wait to be accepted")
      ->check(CLI::Range(1, 1 << 20));
  kiln::AddOption(app, "http-idle-timeout-s", http.idle_timeout_seconds,
                  "KILN_HTTP_IDLE_TIMEOUT_S",
                  "seconds an HTTP connection may send and accept nothing before it is closed")
      ->check(CLI::Range(1, 3600));
  kiln::AddOption(app, "blob-cache-mib", blob_cache_mib, "KILN_BLOB_CACHE_MIB",
                  "MiB of file contents kept in memory for serving")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  kiln::AddOption(app, "max-publish-mib", max_publish_mib, "KILN_MAX_PUBLISH_MIB",
                  "MiB that publishes in progress may hold in memory together; a publish that "
                  "does not fit is refused with RESOURCE_EXHAUSTED")
      ->check(CLI::Range(int64_t{256}, int64_t{1} << 20));
  kiln::AddOption(app, "metadata-ttl-ms", metadata_ttl_ms, "KILN_METADATA_TTL_MS",
                  "how long alias and version lookups are cached; other replicas' alias moves "
                  "show after at most this")
      ->check(CLI::Range(0, 3600 * 1000));
  kiln::AddOption(app, "web-root", http.web_root, "KILN_WEB_ROOT",
                  "directory served over HTTP at / (a web app); empty = none")
      ->check(CLI::ExistingDirectory);
  app.add_flag("--test-corrupt-once", http.test_corrupt_once,
               "TEST ONLY: enable POST /test/corrupt-next?file=PATH, which makes the next GET of "
               "that file return corrupted bytes")
      ->envname("KILN_TEST_CORRUPT_ONCE");
  if (auto exit = main.Start(argc, argv)) return *exit;

  kiln::registry::RegistryStore store(main.pool());
  kiln::registry::ServingCache cache(
      store, {blob_cache_mib << 20, absl::Milliseconds(metadata_ttl_ms)});
  kiln::registry::PublishBudget publish_budget(max_publish_mib << 20);
  kiln::registry::RegistryServiceImpl registry_service(store, cache, publish_budget);

  auto http_server = kiln::registry::HttpServer::Start(http, store, cache);
  if (!http_server.ok()) {
    kiln::log::Error(http_server.status().message());
    return 1;
  }
  return main.Serve({&registry_service}, [&http_server] { (*http_server)->Stop(); });
}
