// The registry's read-only HTTP API for browsers (libmicrohttpd: a few
// epoll threads serve every connection), from the same process as gRPC:
//
//   GET /healthz                                             200 "ok"
//   GET /v1/models                                           models and aliases
//   GET /v1/models/{model}                                   its aliases and versions
//   GET /v1/models/{model}/aliases/{alias}/manifest.json     revalidated (no-cache)
//   GET /v1/models/{model}/versions/{version}/{file}         immutable
//   GET /v1/models/{model}/versions/{version}/metrics.json   immutable
//   GET /v1/models/{model}/versions/{version}/bundle.tar.gz  immutable
//   GET /v1/models/{model}/versions/{version}/npm.tgz        immutable (npm package)
//   GET /...                                                 --web-root files, if set
//
// Every response allows CORS (OPTIONS preflights are answered); errors are
// JSON {"error": "..."}: 400 for a malformed name or path (traversal, bad
// percent-encoding, non-UTF-8 included), 404 for anything unknown, 405 for
// methods other than GET, HEAD and OPTIONS, 413 for a request body, 431 for
// too many or too large header fields. Files, manifests and archives carry
// ETag = quoted sha256 (If-None-Match gives 304) and honour byte Ranges;
// manifests carry X-Kiln-Version.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "services/registry/blob_cache.h"
#include "services/registry/registry_store.h"
#include "services/registry/serving_cache.h"

struct MHD_Connection;
struct MHD_Daemon;

namespace kiln::registry {

struct HttpCallbacks;
struct HttpReply;
struct HttpRequest;
struct HttpRoute;

struct HttpConfig {
  // host:port; port 0 picks a free one.
  std::string listen = "0.0.0.0:8080";
  // Threads that serve connections, each many at a time (epoll); a handler
  // that waits for the database holds up only its own thread's connections.
  int threads = 4;
  // Open connections at most; further clients wait in the listen backlog
  // until one closes.
  int max_connections = 1024;
  // A connection that sends or accepts nothing for this long is closed, so
  // that idle or slow clients do not keep their slots.
  int idle_timeout_seconds = 30;
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
  // libmicrohttpd's C callbacks, which call the members below.
  friend struct HttpCallbacks;

  // The reply to one request whose headers passed the limits.
  void Answer(const HttpRequest& request, HttpReply& reply);
  void Get(const HttpRequest& request, HttpReply& reply);
  void ListModels(HttpReply& reply);
  void GetModel(const std::string& model, HttpReply& reply);
  void AliasManifest(const HttpRequest& request, const HttpRoute& route, HttpReply& reply);
  void VersionFile(const HttpRequest& request, const HttpRoute& route, HttpReply& reply);
  void StaticFile(const HttpRequest& request, const HttpRoute& route, HttpReply& reply);
  void CorruptNext(const HttpRequest& request, HttpReply& reply);
  // Whether the next GET of `path` is to be corrupted; consumes the request.
  bool TakeCorruption(const std::string& path);

  const HttpConfig config_;
  RegistryStore& store_;
  ServingCache& cache_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;

  // Built archives (bundle.tar.gz, npm.tgz) of immutable versions, so that
  // each is gzipped once rather than on every request.
  BlobCache archives_{int64_t{128} << 20};

  std::mutex corrupt_mutex_;
  std::set<std::string> corrupt_next_;
};

}  // namespace kiln::registry
