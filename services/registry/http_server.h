// The registry's read-only HTTP API for browsers (cpp-httplib), served from
// the same process as the gRPC API:
//
//   GET /healthz                                             200 "ok"
//   GET /v1/models                                           models and aliases
//   GET /v1/models/{model}                                   its aliases and versions
//   GET /v1/models/{model}/aliases/{alias}/manifest.json     revalidated (no-cache)
//   GET /v1/models/{model}/versions/{version}/{file}         immutable
//   GET /v1/models/{model}/versions/{version}/metrics.json   immutable
//   GET /v1/models/{model}/versions/{version}/bundle.tar.gz  immutable
//   GET /...                                                 --web-root files, if set
//
// Every response allows CORS (OPTIONS preflights are answered); errors are
// JSON {"error": "..."}: 400 for a malformed name or path (traversal
// included), 404 for anything unknown. Manifests carry ETag = quoted sha256
// and X-Kiln-Version; If-None-Match gives 304.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "services/registry/blob_cache.h"
#include "services/registry/registry_store.h"
#include "services/registry/serving_cache.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace kiln::registry {

struct HttpConfig {
  // host:port; port 0 picks a free one.
  std::string listen = "0.0.0.0:8080";
  // Each open keep-alive connection holds one thread while it waits.
  int threads = 64;
  // Served at "/" when not empty (a web app next to its models).
  std::string web_root;
  // TEST ONLY: registers POST /test/corrupt-next?file=PATH, after which the
  // next GET of that bundle file returns flipped bytes under the genuine
  // ETag, so that clients' sha256 checks can be tested end to end.
  bool test_corrupt_once = false;
};

class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpConfig& config,
                                                           RegistryStore& store,
                                                           ServingCache& cache);
  ~HttpServer();

  int port() const { return port_; }

  // Stops accepting, lets requests in flight finish; idempotent.
  void Stop();

 private:
  HttpServer(const HttpConfig& config, RegistryStore& store, ServingCache& cache);

  void Route(const httplib::Request& request, httplib::Response& response);
  void ListModels(httplib::Response& response);
  void GetModel(const std::string& model, httplib::Response& response);
  void AliasManifest(const httplib::Request& request, const std::string& model,
                     const std::string& alias, httplib::Response& response);
  void VersionFile(const httplib::Request& request, const std::string& model, int64_t version,
                   const std::string& path, httplib::Response& response);
  void StaticFile(const httplib::Request& request, httplib::Response& response);
  void CorruptNext(const httplib::Request& request, httplib::Response& response);
  // Whether the next GET of `path` is to be corrupted; consumes the request.
  bool TakeCorruption(const std::string& path);

  const HttpConfig config_;
  RegistryStore& store_;
  ServingCache& cache_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  // Built archives (bundle.tar.gz, npm.tgz) of immutable versions, so that
  // each is gzipped once rather than on every request.
  BlobCache archives_{int64_t{128} << 20};

  std::mutex corrupt_mutex_;
  std::set<std::string> corrupt_next_;
};

}  // namespace kiln::registry
