#include "services/registry/http_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/common/log.h"
#include "services/common/sha256.h"
#include "services/common/validation.h"
#include "services/registry/bundle_archive.h"
#include "services/registry/content_type.h"
#include "services/registry/http_range.h"
#include "services/registry/http_route.h"
#include "services/registry/npm_package.h"
#include "services/registry/registry_names.h"

namespace kiln::registry {

// One request as the handlers see it: its headers and arguments are read
// from libmicrohttpd's connection, which outlives the handling.
struct HttpRequest {
  MHD_Connection* connection = nullptr;
  std::string method;
  // As the request line carries it: percent-encoded, without the query.
  std::string path;

  // A header field's value, or nullptr when the request has none.
  const char* Header(const char* name) const {
    return MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
  }
};

// What a handler answers. The body is not copied: it points into bytes that
// `owner` keeps alive until libmicrohttpd has sent them.
struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<const std::string> owner;
  absl::string_view body;

  void Header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  void Body(std::shared_ptr<const std::string> bytes, absl::string_view content_type) {
    body = *bytes;
    owner = std::move(bytes);
    Header("Content-Type", std::string(content_type));
  }
  void Body(std::string bytes, absl::string_view content_type) {
    Body(std::make_shared<const std::string>(std::move(bytes)), content_type);
  }
};

namespace {

using nlohmann::json;

constexpr char kImmutable[] = "public, max-age=31536000, immutable";
constexpr char kRevalidate[] = "no-cache";
constexpr char kVersionHeader[] = "X-Kiln-Version";
constexpr char kJson[] = "application/json";
constexpr char kCorruptNextPath[] = "/test/corrupt-next";
// Part of the archives' entity tags: bump it when their layout changes
// (version 2: the npm package's bundle files moved into bundle/; 3: its
// code passes idf.json to preprocess.js; 4: its code reads preprocess.json
// with Kiln's own library).
constexpr char kArchiveLayout[] = "4";
constexpr int kListPageSize = 500;

// The API is read-only: a request may announce a body of at most this many
// bytes, and none is ever read, so that a client cannot make the server
// buffer an upload.
constexpr uint64_t kMaxRequestBodyBytes = 0;
// Header fields of one request, counted and summed (names and values) by
// the server so that the refusal is a JSON 431. libmicrohttpd refuses,
// with its own 431 page, requests that overflow kConnectionMemoryBytes.
constexpr size_t kMaxHeaderFields = 100;
constexpr size_t kMaxHeaderBytes = 16 << 10;
// Per connection: the request line and header fields, and the response's
// header (bodies are sent from the shared buffers).
constexpr size_t kConnectionMemoryBytes = 64 << 10;

// Every document is UTF-8; a stray byte from a stored string becomes U+FFFD
// rather than an exception.
std::string Dump(const json& document) {
  return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

void SendError(HttpReply& reply, int status, absl::string_view message) {
  reply.status = status;
  reply.Header("Cache-Control", "no-store");
  reply.Body(Dump(json{{"error", std::string(message)}}), kJson);
}

// 404 for what does not exist, 400 for malformed input, 409 for what this
// version cannot be made into (an npm package of a format 1 bundle), 503
// when the database is unreachable, 500 for the rest.
void SendStatus(HttpReply& reply, const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return SendError(reply, 404, status.message());
    case absl::StatusCode::kInvalidArgument:
      return SendError(reply, 400, status.message());
    case absl::StatusCode::kFailedPrecondition:
      return SendError(reply, 409, status.message());
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return SendError(reply, 503, status.message());
    default:
      log::Error("HTTP: ", status.ToString());
      return SendError(reply, 500, "internal error");
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
bool NotModified(const HttpRequest& request, const std::string& etag) {
  const char* header = request.Header("If-None-Match");
  if (header == nullptr) return false;
  for (absl::string_view candidate : absl::StrSplit(header, ',')) {
    candidate = absl::StripAsciiWhitespace(candidate);
    absl::ConsumePrefix(&candidate, "W/");
    if (candidate == "*" || candidate == etag) return true;
  }
  return false;
}

// Whether a Range header applies: always without If-Range, else only when
// If-Range names the current (strong) entity tag; a date never matches, as
// the responses carry no Last-Modified.
bool RangeApplies(const HttpRequest& request, const std::string& etag) {
  const char* if_range = request.Header("If-Range");
  return if_range == nullptr || absl::StripAsciiWhitespace(if_range) == etag;
}

std::string RandomBoundary() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrFormat("kiln-%016x%016x", random(), random());
}

// 206 with the selected ranges of `bytes`: one as a slice (not copied),
// several as multipart/byteranges.
void SendRanges(HttpReply& reply, std::shared_ptr<const std::string> bytes,
                const std::vector<ByteRange>& ranges, const std::string& content_type) {
  reply.status = 206;
  const std::string total = absl::StrCat("/", bytes->size());
  if (ranges.size() == 1) {
    const ByteRange& range = ranges[0];
    reply.Header("Content-Range", absl::StrCat("bytes ", range.first, "-", range.last, total));
    reply.Header("Content-Type", content_type);
    reply.body = absl::string_view(*bytes).substr(range.first, range.last - range.first + 1);
    reply.owner = std::move(bytes);
    return;
  }
  const std::string boundary = RandomBoundary();
  std::string body;
  for (const ByteRange& range : ranges) {
    absl::StrAppend(&body, "--", boundary, "\r\nContent-Type: ", content_type,
                    "\r\nContent-Range: bytes ", range.first, "-", range.last, total, "\r\n\r\n",
                    absl::string_view(*bytes).substr(range.first, range.last - range.first + 1),
                    "\r\n");
  }
  absl::StrAppend(&body, "--", boundary, "--\r\n");
  reply.Body(std::move(body), absl::StrCat("multipart/byteranges; boundary=", boundary));
}

// Sends `bytes` (shared, not copied) with its ETag, or 304 when the client
// holds them already, or the byte ranges a GET asks for.
void SendContent(const HttpRequest& request, HttpReply& reply,
                 std::shared_ptr<const std::string> bytes, const std::string& sha256,
                 const char* cache_control, const std::string& content_type) {
  const std::string etag = absl::StrCat("\"", sha256, "\"");
  reply.Header("ETag", etag);
  reply.Header("Cache-Control", cache_control);
  if (NotModified(request, etag)) {
    reply.status = 304;
    return;
  }
  reply.Header("Accept-Ranges", "bytes");
  const char* range = request.Header("Range");
  if (range != nullptr && request.method == MHD_HTTP_METHOD_GET && RangeApplies(request, etag)) {
    const RangeSelection selection = SelectRanges(range, bytes->size());
    switch (selection.kind) {
      case RangeSelection::Kind::kWhole:
        break;
      case RangeSelection::Kind::kPartial:
        return SendRanges(reply, std::move(bytes), selection.ranges, content_type);
      case RangeSelection::Kind::kUnsatisfiable: {
        HttpReply refusal;
        SendError(refusal, 416, absl::StrCat("no range of \"", EchoableUtf8(range, 200),
                                             "\" lies within the ", bytes->size(), " bytes"));
        refusal.Header("Content-Range", absl::StrCat("bytes */", bytes->size()));
        reply = std::move(refusal);
        return;
      }
    }
  }
  reply.Body(std::move(bytes), content_type);
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

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError(absl::StrCat("cannot open ", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read ", path));
  return bytes.str();
}

// The header fields of a request: how many and how many bytes.
struct HeaderTally {
  size_t fields = 0;
  size_t bytes = 0;
};

MHD_Result CountHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* tally = static_cast<HeaderTally*>(cls);
  ++tally->fields;
  tally->bytes += std::strlen(key) + (value == nullptr ? 0 : std::strlen(value));
  return MHD_YES;
}

// Whether the request's headers break a limit: then `reply` holds the
// refusal, made before anything else is looked at or any body is read.
bool Refused(const HttpRequest& request, HttpReply& reply) {
  HeaderTally tally;
  MHD_get_connection_values(request.connection, MHD_HEADER_KIND, CountHeader, &tally);
  if (tally.fields > kMaxHeaderFields || tally.bytes > kMaxHeaderBytes) {
    SendError(reply, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
              absl::StrCat("the request has ", tally.fields, " header fields of ", tally.bytes,
                           " bytes; at most ", kMaxHeaderFields, " fields of ", kMaxHeaderBytes,
                           " bytes are accepted"));
    return true;
  }
  if (request.Header(MHD_HTTP_HEADER_TRANSFER_ENCODING) != nullptr) {
    SendError(reply, MHD_HTTP_CONTENT_TOO_LARGE,
              "request bodies are refused (Transfer-Encoding is set): the HTTP API is read-only");
    return true;
  }
  if (const char* length = request.Header(MHD_HTTP_HEADER_CONTENT_LENGTH)) {
    uint64_t bytes = 0;
    if (!absl::SimpleAtoi(length, &bytes) || bytes > kMaxRequestBodyBytes) {
      SendError(reply, MHD_HTTP_CONTENT_TOO_LARGE,
                absl::StrCat("request bodies are refused (Content-Length: ",
                             EchoableUtf8(length, 40), "): the HTTP API is read-only"));
      return true;
    }
  }
  return false;
}

// libmicrohttpd answers by itself what is not HTTP at all; what it logs
// while doing so goes to the service's log.
void LogFromServer(void*, const char* format, va_list arguments) {
  char line[512];
  std::vsnprintf(line, sizeof(line), format, arguments);
  log::Warning("HTTP: ", absl::StripAsciiWhitespace(line));
}

// Paths and arguments reach the router as sent: it decodes them itself, and
// refuses what does not decode.
size_t KeepEncoded(void*, MHD_Connection*, char* text) { return std::strlen(text); }

HttpReply InternalError(absl::string_view what) {
  log::Error("HTTP handler failed: ", what);
  HttpReply reply;
  SendError(reply, 500, "internal error");
  return reply;
}

void ReleaseBody(void* owner) { delete static_cast<std::shared_ptr<const std::string>*>(owner); }

// The address to listen on: host:port, the host a name or a literal
// (IPv6 bracketed).
absl::StatusOr<sockaddr_storage> ListenAddress(const std::string& listen) {
  absl::StatusOr<std::pair<std::string, int>> split = SplitHostPort(listen);
  if (!split.ok()) return split.status();
  const auto& [host, port] = *split;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int error = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints,
                              &found);
      error != 0) {
    return absl::InvalidArgumentError(absl::StrCat("HTTP listen address \"", listen,
                                                   "\": ", gai_strerror(error)));
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  return address;
}

}  // namespace

// The C entry points libmicrohttpd calls.
struct HttpCallbacks {
  // Called when a request's header is in, then again for its body: limits
  // are checked on the first call and a refusal is sent at once, without
  // reading the body (the connection then closes); anything else is answered
  // on the second, which keeps the connection open for the next request.
  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char*, const char*, size_t*,
                              void** request_state) {
    static char header_checked;
    auto* server = static_cast<HttpServer*>(cls);
    HttpRequest request{connection, method, url};
    HttpReply reply;
    try {
      if (*request_state == nullptr) {
        if (!Refused(request, reply)) {
          *request_state = &header_checked;
          return MHD_YES;
        }
      } else {
        server->Answer(request, reply);
      }
    } catch (const std::exception& e) {
      reply = InternalError(e.what());
    } catch (...) {
      reply = InternalError("an exception that is no std::exception");
    }
    return Queue(connection, std::move(reply));
  }

  static MHD_Result Queue(MHD_Connection* connection, HttpReply reply) {
    auto* owner = new std::shared_ptr<const std::string>(std::move(reply.owner));
    MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
        reply.body.size(), const_cast<char*>(reply.body.data()), ReleaseBody, owner);
    if (response == nullptr) {
      ReleaseBody(owner);
      return MHD_NO;
    }
    MHD_add_response_header(response, "Access-Control-Allow-Origin", "*");
    // Browsers must take every Content-Type as given, never guess a script
    // or a page from the bytes.
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(response, "Access-Control-Expose-Headers",
                            "ETag, Content-Length, X-Kiln-Version");
    for (const auto& [name, value] : reply.headers) {
      MHD_add_response_header(response, name.c_str(), value.c_str());
    }
    const MHD_Result queued =
        MHD_queue_response(connection, static_cast<unsigned int>(reply.status), response);
    MHD_destroy_response(response);
    return queued;
  }
};

HttpServer::HttpServer(const HttpConfig& config, RegistryStore& store, ServingCache& cache)
    : config_(config), store_(store), cache_(cache) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpConfig& config,
                                                              RegistryStore& store,
                                                              ServingCache& cache) {
  if (config.threads < 1) return absl::InvalidArgumentError("HTTP threads must be >= 1");
  if (config.max_connections < config.threads) {
    return absl::InvalidArgumentError("HTTP max connections must be >= the HTTP threads");
  }
  if (config.idle_timeout_seconds < 1) {
    return absl::InvalidArgumentError("HTTP idle timeout must be >= 1 second");
  }
  absl::StatusOr<sockaddr_storage> address = ListenAddress(config.listen);
  if (!address.ok()) return address.status();
  std::unique_ptr<HttpServer> http(new HttpServer(config, store, cache));
  if (config.test_corrupt_once) {
    log::Warning("--test-corrupt-once is on: POST /test/corrupt-next corrupts served files "
                 "(tests only)");
  }
  unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
  if (address->ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  http->daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &HttpCallbacks::OnRequest, http.get(),
      MHD_OPTION_EXTERNAL_LOGGER, &LogFromServer, nullptr,
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&*address),
      MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned int>(config.threads),
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(config.max_connections),
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned int>(config.idle_timeout_seconds),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemoryBytes,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, static_cast<unsigned int>(SOMAXCONN),
      MHD_OPTION_UNESCAPE_CALLBACK, &KeepEncoded, nullptr,
      MHD_OPTION_END);
  if (http->daemon_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", config.listen, ": malformed or in use"));
  }
  const MHD_DaemonInfo* bound = MHD_get_daemon_info(http->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  http->port_ = bound == nullptr ? 0 : bound->port;
  log::Info("HTTP listening on ", config.listen, " (port ", http->port_, ", ", config.threads,
            " threads, at most ", config.max_connections, " connections)");
  return http;
}

void HttpServer::Stop() {
  if (daemon_ == nullptr) return;
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

void HttpServer::Answer(const HttpRequest& request, HttpReply& reply) {
  const std::string& method = request.method;
  if (method == MHD_HTTP_METHOD_GET || method == MHD_HTTP_METHOD_HEAD) return Get(request, reply);
  const bool corrupt_route = config_.test_corrupt_once && request.path == kCorruptNextPath;
  const std::string methods = corrupt_route ? "GET, HEAD, OPTIONS, POST" : "GET, HEAD, OPTIONS";
  if (method == MHD_HTTP_METHOD_OPTIONS) {
    // CORS preflight: conditional GETs carry If-None-Match, which is not a
    // CORS-safelisted header.
    reply.status = 204;
    reply.Header("Access-Control-Allow-Methods", methods);
    reply.Header("Access-Control-Allow-Headers", "If-None-Match, Content-Type");
    reply.Header("Access-Control-Max-Age", "86400");
    return;
  }
  if (method == MHD_HTTP_METHOD_POST && corrupt_route) return CorruptNext(request, reply);
  SendError(reply, MHD_HTTP_METHOD_NOT_ALLOWED,
            absl::StrCat("method ", EchoableUtf8(method, 40), " is not allowed on ",
                         EchoableUtf8(request.path, 200), ": the HTTP API is read-only"));
  reply.Header(MHD_HTTP_HEADER_ALLOW, methods);
}

void HttpServer::Get(const HttpRequest& request, HttpReply& reply) {
  absl::StatusOr<HttpRoute> route = ParseHttpRoute(request.path, !config_.web_root.empty());
  if (!route.ok()) return SendStatus(reply, route.status());
  switch (route->kind) {
    case HttpRoute::Kind::kHealth:
      reply.Header("Cache-Control", "no-store");
      return reply.Body(std::string("ok\n"), "text/plain; charset=utf-8");
    case HttpRoute::Kind::kModels:
      return ListModels(reply);
    case HttpRoute::Kind::kModel:
      return GetModel(route->model, reply);
    case HttpRoute::Kind::kAliasManifest:
      return AliasManifest(request, *route, reply);
    case HttpRoute::Kind::kVersionFile:
      return VersionFile(request, *route, reply);
    case HttpRoute::Kind::kWebFile:
      return StaticFile(request, *route, reply);
  }
}

void HttpServer::ListModels(HttpReply& reply) {
  absl::StatusOr<std::vector<kiln::v1::Model>> models = store_.ListModels();
  if (!models.ok()) return SendStatus(reply, models.status());
  json list = json::array();
  for (const kiln::v1::Model& model : *models) list.push_back(ModelJson(model));
  reply.Header("Cache-Control", kRevalidate);
  reply.Body(Dump(json{{"models", std::move(list)}}), kJson);
}

void HttpServer::GetModel(const std::string& model, HttpReply& reply) {
  absl::StatusOr<kiln::v1::Model> found = store_.GetModel(model);
  if (!found.ok()) return SendStatus(reply, found.status());
  json out = ModelJson(*found);
  json versions = json::array();
  for (int64_t before = 0;;) {
    absl::StatusOr<RegistryStore::VersionPage> page =
        store_.ListVersions(model, kListPageSize, before);
    if (!page.ok()) return SendStatus(reply, page.status());
    for (const kiln::v1::ModelVersion& version : page->versions) {
      versions.push_back(VersionJson(version));
    }
    if (page->next_before == 0) break;
    before = page->next_before;
  }
  out["versions"] = std::move(versions);
  reply.Header("Cache-Control", kRevalidate);
  reply.Body(Dump(out), kJson);
}

void HttpServer::AliasManifest(const HttpRequest& request, const HttpRoute& route,
                               HttpReply& reply) {
  absl::StatusOr<int64_t> version = cache_.ResolveAlias(route.model, route.alias);
  if (!version.ok()) return SendStatus(reply, version.status());
  absl::StatusOr<std::shared_ptr<const VersionSnapshot>> snapshot =
      cache_.Version(route.model, *version);
  if (!snapshot.ok()) return SendStatus(reply, snapshot.status());
  const kiln::v1::ModelVersion& stored = (*snapshot)->version;
  reply.Header(kVersionHeader, std::to_string(stored.version()));
  // Aliased so that the bytes live as long as the snapshot that owns them.
  std::shared_ptr<const std::string> manifest(*snapshot, &stored.manifest_json());
  SendContent(request, reply, std::move(manifest), stored.manifest_sha256(), kRevalidate, kJson);
}

void HttpServer::VersionFile(const HttpRequest& request, const HttpRoute& route,
                             HttpReply& reply) {
  const std::string& model = route.model;
  const int64_t version = route.version;
  const std::string& path = route.file;
  absl::StatusOr<std::shared_ptr<const VersionSnapshot>> found = cache_.Version(model, version);
  if (!found.ok()) return SendStatus(reply, found.status());
  const std::shared_ptr<const VersionSnapshot>& snapshot = *found;
  const kiln::v1::ModelVersion& stored = snapshot->version;
  reply.Header(kVersionHeader, std::to_string(version));

  if (path == kManifestPath) {
    std::shared_ptr<const std::string> manifest(snapshot, &stored.manifest_json());
    return SendContent(request, reply, std::move(manifest), stored.manifest_sha256(),
                       kImmutable, kJson);
  }
  if (path == "metrics.json") {
    std::shared_ptr<const std::string> metrics(snapshot, &snapshot->metrics_json);
    return SendContent(request, reply, metrics, Sha256Hex(*metrics), kImmutable, kJson);
  }
  if (path == "bundle.tar.gz" || path == kNpmPackagePath) {
    const bool npm = path == kNpmPackagePath;
    const std::string filename =
        npm ? NpmPackageFileName(model, version) : absl::StrCat(model, "-", version, ".tar.gz");
    reply.Header("Content-Disposition", absl::StrCat("attachment; filename=\"", filename, "\""));
    // An archive is a function of the manifest (which names every file) and
    // of how Kiln lays archives out, so its entity tag is too: a client that
    // holds it gets its 304 before anything is read or gzipped.
    const std::string tag = absl::StrCat(stored.manifest_sha256(), ".", path, ".", kArchiveLayout);
    if (NotModified(request, absl::StrCat("\"", tag, "\""))) {
      reply.Header("ETag", absl::StrCat("\"", tag, "\""));
      reply.Header("Cache-Control", kImmutable);
      reply.status = 304;
      return;
    }
    std::shared_ptr<const std::string> archive = archives_.Find(tag);
    if (archive == nullptr) {
      std::vector<ArchiveFile> files;
      for (const kiln::v1::FileDigest& file : stored.files()) {
        absl::StatusOr<std::shared_ptr<const std::string>> bytes = cache_.Blob(file.sha256());
        if (!bytes.ok()) return SendStatus(reply, bytes.status());
        files.push_back({file.path(), *std::move(bytes)});
      }
      files.push_back(
          {kManifestPath, std::shared_ptr<const std::string>(snapshot, &stored.manifest_json())});
      absl::StatusOr<std::string> built =
          npm ? MakeNpmPackage(stored, files) : MakeTarGz(files, stored.created_at().seconds());
      if (!built.ok()) return SendStatus(reply, built.status());
      archive = std::make_shared<const std::string>(*std::move(built));
      archives_.Insert(tag, archive);
    }
    return SendContent(request, reply, std::move(archive), tag, kImmutable, "application/gzip");
  }
  const kiln::v1::FileDigest* file = snapshot->File(path);
  if (file == nullptr) {
    return SendError(reply, 404, absl::StrCat("version ", version, " of model \"", model,
                                              "\" has no file \"", path, "\""));
  }
  absl::StatusOr<std::shared_ptr<const std::string>> bytes = cache_.Blob(file->sha256());
  if (!bytes.ok()) return SendStatus(reply, bytes.status());
  if (config_.test_corrupt_once && TakeCorruption(path)) {
    auto corrupted = std::make_shared<std::string>(**bytes);
    for (char& c : *corrupted) c = static_cast<char>(~c);
    log::Warning("test: serving ", path, " of ", model, " v", version, " corrupted, once");
    *bytes = std::move(corrupted);
  }
  SendContent(request, reply, *std::move(bytes), file->sha256(), kImmutable,
              BundleFileContentType(path));
}

void HttpServer::StaticFile(const HttpRequest& request, const HttpRoute& route,
                            HttpReply& reply) {
  std::filesystem::path file = std::filesystem::path(config_.web_root) / route.file;
  std::error_code error;
  if (route.directory || std::filesystem::is_directory(file, error)) file /= "index.html";
  if (!std::filesystem::is_regular_file(file, error)) {
    return SendError(reply, 404, absl::StrCat("no file /", route.file));
  }
  absl::StatusOr<std::string> bytes = ReadWholeFile(file.string());
  if (!bytes.ok()) return SendStatus(reply, bytes.status());
  auto shared = std::make_shared<const std::string>(*std::move(bytes));
  const std::string sha256 = Sha256Hex(*shared);
  SendContent(request, reply, std::move(shared), sha256, kRevalidate,
              ContentTypeFor(file.filename().string()));
}

void HttpServer::CorruptNext(const HttpRequest& request, HttpReply& reply) {
  const char* argument =
      MHD_lookup_connection_value(request.connection, MHD_GET_ARGUMENT_KIND, "file");
  absl::StatusOr<std::string> file = PercentDecode(argument == nullptr ? "" : argument);
  if (!file.ok()) return SendError(reply, 400, file.status().message());
  if (absl::Status valid = ValidateFilePath(*file); !valid.ok()) {
    return SendError(reply, 400, valid.message());
  }
  std::lock_guard<std::mutex> lock(corrupt_mutex_);
  corrupt_next_.insert(*file);
  reply.Body(Dump(json{{"corrupt_next", *file}}), kJson);
}

bool HttpServer::TakeCorruption(const std::string& path) {
  std::lock_guard<std::mutex> lock(corrupt_mutex_);
  return corrupt_next_.erase(path) != 0;
}

}  // namespace kiln::registry
