#include "services/registry/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/common/log.h"
#include "services/common/sha256.h"
#include "services/registry/bundle_archive.h"
#include "services/registry/content_type.h"
#include "services/registry/npm_package.h"
#include "services/registry/registry_names.h"

namespace kiln::registry {
namespace {

using nlohmann::json;

constexpr char kImmutable[] = "public, max-age=31536000, immutable";
constexpr char kRevalidate[] = "no-cache";
constexpr char kVersionHeader[] = "X-Kiln-Version";
constexpr char kJson[] = "application/json";
// Part of the archives' entity tags: bump it when their layout changes
// (version 2: the npm package's bundle files moved into bundle/).
constexpr char kArchiveLayout[] = "2";
// Matches nginx's default, so that a benchmark client keeps its connections.
constexpr size_t kKeepAliveRequests = 1000;
constexpr int kListPageSize = 500;

// cpp-httplib 0.11 listens with a backlog of 5: a burst of (re)connecting
// keep-alive clients overflows it and waits out a 1 s SYN retransmit. Linux
// lets listen() be called again on a listening socket to enlarge it.
class Server : public httplib::Server {
 public:
  bool EnlargeBacklog() { return ::listen(svr_sock_, SOMAXCONN) == 0; }
};

void SendError(httplib::Response& response, int status, absl::string_view message) {
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(json{{"error", std::string(message)}}.dump(), kJson);
}

// 404 for what does not exist, 503 when the database is unreachable, 500
// for the rest.
void SendStatus(httplib::Response& response, const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return SendError(response, 404, status.message());
    case absl::StatusCode::kInvalidArgument:
      return SendError(response, 400, status.message());
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return SendError(response, 503, status.message());
    default:
      log::Error("HTTP: ", status.ToString());
      return SendError(response, 500, "internal error");
  }
}

std::string Rfc3339(const google::protobuf::Timestamp& timestamp) {
  return absl::FormatTime(absl::RFC3339_full,
                          absl::FromUnixSeconds(timestamp.seconds()) +
                              absl::Nanoseconds(timestamp.nanos()),
                          absl::UTCTimeZone());
}

json AliasesJson(const google::protobuf::RepeatedPtrField<kiln::v1::Alias>& aliases) {
  json out = json::object();
  for (const kiln::v1::Alias& alias : aliases) out[alias.name()] = alias.version();
  return out;
}

json ModelJson(const kiln::v1::Model& model) {
  return {{"name", model.name()},
          {"created_at", Rfc3339(model.created_at())},
          {"version_count", model.version_count()},
          {"latest_version", model.latest_version()},
          {"aliases", AliasesJson(model.aliases())}};
}

json VersionJson(const kiln::v1::ModelVersion& version) {
  json files = json::array();
  for (const kiln::v1::FileDigest& file : version.files()) {
    files.push_back({{"path", file.path()}, {"size", file.size()}, {"sha256", file.sha256()}});
  }
  json metrics = json::object();
  for (const auto& [name, value] : version.metrics()) metrics[name] = value;
  return {{"version", version.version()},
          {"created_at", Rfc3339(version.created_at())},
          {"manifest_sha256", version.manifest_sha256()},
          {"size_bytes", version.size_bytes()},
          {"weight_encoding", kiln::v1::WeightEncoding_Name(version.weight_encoding())},
          {"classes", std::vector<std::string>(version.classes().begin(), version.classes().end())},
          {"metrics", std::move(metrics)},
          {"aliases", std::vector<std::string>(version.aliases().begin(), version.aliases().end())},
          {"description", version.description()},
          {"files", std::move(files)}};
}

// Whether If-None-Match names `etag` (a quoted entity tag). Weak and strong
// tags compare alike, as RFC 9110 asks for If-None-Match.
bool NotModified(const httplib::Request& request, const std::string& etag) {
  if (!request.has_header("If-None-Match")) return false;
  for (absl::string_view candidate :
       absl::StrSplit(request.get_header_value("If-None-Match"), ',')) {
    candidate = absl::StripAsciiWhitespace(candidate);
    absl::ConsumePrefix(&candidate, "W/");
    if (candidate == "*" || candidate == etag) return true;
  }
  return false;
}

// Sends `bytes` (shared, not copied) with its ETag, or 304 when the client
// holds them already.
void SendContent(const httplib::Request& request, httplib::Response& response,
                 std::shared_ptr<const std::string> bytes, const std::string& sha256,
                 const char* cache_control, const std::string& content_type) {
  const std::string etag = absl::StrCat("\"", sha256, "\"");
  response.set_header("ETag", etag);
  response.set_header("Cache-Control", cache_control);
  if (NotModified(request, etag)) {
    response.status = 304;
    return;
  }
  const size_t size = bytes->size();
  response.set_content_provider(
      size, content_type,
      [bytes = std::move(bytes)](size_t offset, size_t length, httplib::DataSink& sink) {
        return sink.write(bytes->data() + offset, length);
      });
}

// host:port, host may be bracketed IPv6.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP listen address \"", listen, "\" is not host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

// A request path's segments after "/v1/", or InvalidArgument when one
// would step outside: the router never sees "..", ".", empty segments,
// backslashes or control characters (httplib has already decoded %2e%2e to
// "..").
absl::StatusOr<std::vector<std::string>> SafeSegments(absl::string_view path) {
  std::vector<std::string> segments = absl::StrSplit(path, '/');
  for (const std::string& segment : segments) {
    if (absl::Status valid = ValidateFilePath(segment); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed request path ", path, ": ", valid.message()));
    }
  }
  return segments;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError(absl::StrCat("cannot open ", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read ", path));
  return bytes.str();
}

}  // namespace

HttpServer::HttpServer(const HttpConfig& config, RegistryStore& store, ServingCache& cache)
    : config_(config), store_(store), cache_(cache), server_(std::make_unique<Server>()) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpConfig& config,
                                                              RegistryStore& store,
                                                              ServingCache& cache) {
  absl::StatusOr<std::pair<std::string, int>> address = SplitHostPort(config.listen);
  if (!address.ok()) return address.status();
  if (config.threads < 1) return absl::InvalidArgumentError("HTTP threads must be >= 1");
  std::unique_ptr<HttpServer> http(new HttpServer(config, store, cache));
  httplib::Server& server = *http->server_;
  const size_t threads = static_cast<size_t>(config.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(kKeepAliveRequests);
  server.set_tcp_nodelay(true);
  server.set_default_headers({
      {"Access-Control-Allow-Origin", "*"},
      {"Access-Control-Expose-Headers", absl::StrCat("ETag, Content-Length, ", kVersionHeader)},
  });
  HttpServer* self = http.get();
  server.Get(".*", [self](const httplib::Request& request, httplib::Response& response) {
    self->Route(request, response);
  });
  // CORS preflight: conditional GETs carry If-None-Match, which is not a
  // CORS-safelisted header.
  const std::string methods = config.test_corrupt_once ? "GET, HEAD, OPTIONS, POST" : "GET, HEAD, OPTIONS";
  server.Options(".*", [methods](const httplib::Request&, httplib::Response& response) {
    response.status = 204;
    response.set_header("Access-Control-Allow-Methods", methods);
    response.set_header("Access-Control-Allow-Headers", "If-None-Match, Content-Type");
    response.set_header("Access-Control-Max-Age", "86400");
  });
  if (config.test_corrupt_once) {
    log::Warning("--test-corrupt-once is on: POST /test/corrupt-next corrupts served files (tests only)");
    server.Post("/test/corrupt-next",
                [self](const httplib::Request& request, httplib::Response& response) {
                  self->CorruptNext(request, response);
                });
  }
  // Fills in a JSON body for the errors httplib answers itself (no route,
  // unsupported method, malformed request).
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& response) {
    if (!response.body.empty() || response.content_length_ > 0) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    SendError(response, response.status,
              response.status == 404 ? "not found" : absl::StrCat("HTTP status ", response.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          log::Error("HTTP handler failed: ", e.what());
        } catch (...) {
          log::Error("HTTP handler failed");
        }
        SendError(response, 500, "internal error");
      });

  const auto& [host, port] = *address;
  http->port_ = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (http->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", config.listen, ": malformed or in use"));
  }
  if (!static_cast<Server&>(server).EnlargeBacklog()) {
    log::Warning("HTTP: cannot enlarge the listen backlog; bursts of connections will wait");
  }
  http->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  // httplib's stop() does nothing until the loop runs: wait for it, so that
  // a Stop() right after Start() cannot miss it and hang in join().
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  log::Info("HTTP listening on ", config.listen, " (port ", http->port_, ")");
  return http;
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

void HttpServer::Route(const httplib::Request& request, httplib::Response& response) {
  const std::string& path = request.path;
  if (path == "/healthz") {
    response.set_header("Cache-Control", "no-store");
    response.set_content("ok\n", "text/plain; charset=utf-8");
    return;
  }
  if (!absl::StartsWith(path, "/v1/")) {
    if (!config_.web_root.empty()) return StaticFile(request, response);
    return SendError(response, 404, absl::StrCat("no route for ", path));
  }
  absl::StatusOr<std::vector<std::string>> parts = SafeSegments(absl::string_view(path).substr(4));
  if (!parts.ok()) return SendStatus(response, parts.status());
  const std::vector<std::string>& segments = *parts;
  if (segments.empty() || segments[0] != "models") {
    return SendError(response, 404, absl::StrCat("no route for ", path));
  }
  if (segments.size() == 1) return ListModels(response);
  const std::string& model = segments[1];
  if (!IsValidModelName(model)) {
    return SendError(response, 400, absl::StrCat("model name \"", model,
                                                 "\" must match [a-z0-9][a-z0-9._-]{0,63}"));
  }
  if (segments.size() == 2) return GetModel(model, response);
  if (segments[2] == "aliases" && segments.size() == 5 && segments[4] == kManifestPath) {
    if (!IsValidAliasName(segments[3])) {
      return SendError(response, 400, absl::StrCat("alias name \"", segments[3],
                                                   "\" must match [a-z][a-z0-9_-]{0,31}"));
    }
    return AliasManifest(request, model, segments[3], response);
  }
  if (segments[2] == "versions" && segments.size() >= 5) {
    int64_t version = 0;
    if (!absl::SimpleAtoi(segments[3], &version) || version < 1) {
      return SendError(response, 400,
                       absl::StrCat("version \"", segments[3], "\" is not a number >= 1"));
    }
    const std::string file =
        absl::StrJoin(segments.begin() + 4, segments.end(), "/");
    return VersionFile(request, model, version, file, response);
  }
  SendError(response, 404, absl::StrCat("no route for ", path));
}

void HttpServer::ListModels(httplib::Response& response) {
  absl::StatusOr<std::vector<kiln::v1::Model>> models = store_.ListModels();
  if (!models.ok()) return SendStatus(response, models.status());
  json list = json::array();
  for (const kiln::v1::Model& model : *models) list.push_back(ModelJson(model));
  response.set_header("Cache-Control", kRevalidate);
  response.set_content(json{{"models", std::move(list)}}.dump(), kJson);
}

void HttpServer::GetModel(const std::string& model, httplib::Response& response) {
  absl::StatusOr<kiln::v1::Model> found = store_.GetModel(model);
  if (!found.ok()) return SendStatus(response, found.status());
  json out = ModelJson(*found);
  json versions = json::array();
  for (int64_t before = 0;;) {
    absl::StatusOr<RegistryStore::VersionPage> page =
        store_.ListVersions(model, kListPageSize, before);
    if (!page.ok()) return SendStatus(response, page.status());
    for (const kiln::v1::ModelVersion& version : page->versions) {
      versions.push_back(VersionJson(version));
    }
    if (page->next_before == 0) break;
    before = page->next_before;
  }
  out["versions"] = std::move(versions);
  response.set_header("Cache-Control", kRevalidate);
  response.set_content(out.dump(), kJson);
}

void HttpServer::AliasManifest(const httplib::Request& request, const std::string& model,
                               const std::string& alias, httplib::Response& response) {
  absl::StatusOr<int64_t> version = cache_.ResolveAlias(model, alias);
  if (!version.ok()) return SendStatus(response, version.status());
  absl::StatusOr<std::shared_ptr<const VersionSnapshot>> snapshot =
      cache_.Version(model, *version);
  if (!snapshot.ok()) return SendStatus(response, snapshot.status());
  const kiln::v1::ModelVersion& stored = (*snapshot)->version;
  response.set_header(kVersionHeader, std::to_string(stored.version()));
  // Aliased so that the bytes live as long as the snapshot that owns them.
  std::shared_ptr<const std::string> manifest(*snapshot, &stored.manifest_json());
  SendContent(request, response, std::move(manifest), stored.manifest_sha256(), kRevalidate, kJson);
}

void HttpServer::VersionFile(const httplib::Request& request, const std::string& model,
                             int64_t version, const std::string& path,
                             httplib::Response& response) {
  absl::StatusOr<std::shared_ptr<const VersionSnapshot>> found = cache_.Version(model, version);
  if (!found.ok()) return SendStatus(response, found.status());
  const std::shared_ptr<const VersionSnapshot>& snapshot = *found;
  const kiln::v1::ModelVersion& stored = snapshot->version;
  response.set_header(kVersionHeader, std::to_string(version));

  if (path == kManifestPath) {
    std::shared_ptr<const std::string> manifest(snapshot, &stored.manifest_json());
    return SendContent(request, response, std::move(manifest), stored.manifest_sha256(),
                       kImmutable, kJson);
  }
  if (path == "metrics.json") {
    std::shared_ptr<const std::string> metrics(snapshot, &snapshot->metrics_json);
    return SendContent(request, response, metrics, Sha256Hex(*metrics), kImmutable, kJson);
  }
  if (path == "bundle.tar.gz" || path == kNpmPackagePath) {
    const bool npm = path == kNpmPackagePath;
    const std::string filename =
        npm ? NpmPackageFileName(model, version) : absl::StrCat(model, "-", version, ".tar.gz");
    response.set_header("Content-Disposition", absl::StrCat("attachment; filename=\"", filename, "\""));
    // An archive is a function of the manifest (which names every file) and
    // of how Kiln lays archives out, so its entity tag is too: a client that
    // holds it gets its 304 before anything is read or gzipped.
    const std::string tag = absl::StrCat(stored.manifest_sha256(), ".", path, ".", kArchiveLayout);
    if (NotModified(request, absl::StrCat("\"", tag, "\""))) {
      response.set_header("ETag", absl::StrCat("\"", tag, "\""));
      response.set_header("Cache-Control", kImmutable);
      response.status = 304;
      return;
    }
    std::shared_ptr<const std::string> archive = archives_.Find(tag);
    if (archive == nullptr) {
      std::vector<ArchiveFile> files;
      for (const kiln::v1::FileDigest& file : stored.files()) {
        absl::StatusOr<std::shared_ptr<const std::string>> bytes = cache_.Blob(file.sha256());
        if (!bytes.ok()) return SendStatus(response, bytes.status());
        files.push_back({file.path(), *std::move(bytes)});
      }
      files.push_back(
          {kManifestPath, std::shared_ptr<const std::string>(snapshot, &stored.manifest_json())});
      absl::StatusOr<std::string> built =
          npm ? MakeNpmPackage(stored, files) : MakeTarGz(files, stored.created_at().seconds());
      if (!built.ok()) return SendStatus(response, built.status());
      archive = std::make_shared<const std::string>(*std::move(built));
      archives_.Insert(tag, archive);
    }
    return SendContent(request, response, std::move(archive), tag, kImmutable, "application/gzip");
  }
  const kiln::v1::FileDigest* file = snapshot->File(path);
  if (file == nullptr) {
    return SendError(response, 404, absl::StrCat("version ", version, " of model \"", model,
                                                 "\" has no file \"", path, "\""));
  }
  absl::StatusOr<std::shared_ptr<const std::string>> bytes = cache_.Blob(file->sha256());
  if (!bytes.ok()) return SendStatus(response, bytes.status());
  if (config_.test_corrupt_once && TakeCorruption(path)) {
    auto corrupted = std::make_shared<std::string>(**bytes);
    for (char& c : *corrupted) c = static_cast<char>(~c);
    log::Warning("test: serving ", path, " of ", model, " v", version, " corrupted, once");
    *bytes = std::move(corrupted);
  }
  SendContent(request, response, *std::move(bytes), file->sha256(), kImmutable,
              ContentTypeFor(path));
}

void HttpServer::StaticFile(const httplib::Request& request, httplib::Response& response) {
  absl::string_view relative = request.path;
  absl::ConsumePrefix(&relative, "/");
  const bool directory = relative.empty() || absl::ConsumeSuffix(&relative, "/");
  if (!relative.empty()) {
    if (absl::Status valid = ValidateFilePath(relative); !valid.ok()) {
      return SendError(response, 400, absl::StrCat("malformed request path: ", valid.message()));
    }
  }
  std::filesystem::path file = std::filesystem::path(config_.web_root) / std::string(relative);
  std::error_code error;
  if (directory || std::filesystem::is_directory(file, error)) file /= "index.html";
  if (!std::filesystem::is_regular_file(file, error)) {
    return SendError(response, 404, absl::StrCat("no file ", request.path));
  }
  absl::StatusOr<std::string> bytes = ReadWholeFile(file.string());
  if (!bytes.ok()) return SendStatus(response, bytes.status());
  auto shared = std::make_shared<const std::string>(*std::move(bytes));
  const std::string sha256 = Sha256Hex(*shared);
  SendContent(request, response, std::move(shared), sha256, kRevalidate,
              ContentTypeFor(file.filename().string()));
}

void HttpServer::CorruptNext(const httplib::Request& request, httplib::Response& response) {
  const std::string file = request.get_param_value("file");
  if (absl::Status valid = ValidateFilePath(file); !valid.ok()) {
    return SendError(response, 400, valid.message());
  }
  std::lock_guard<std::mutex> lock(corrupt_mutex_);
  corrupt_next_.insert(file);
  response.set_content(json{{"corrupt_next", file}}.dump(), kJson);
}

bool HttpServer::TakeCorruption(const std::string& path) {
  std::lock_guard<std::mutex> lock(corrupt_mutex_);
  return corrupt_next_.erase(path) != 0;
}

}  // namespace kiln::registry
