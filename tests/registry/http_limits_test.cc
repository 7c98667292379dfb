// The registry's HTTP edge under clients that misbehave: request bodies,
// oversized headers, hostile Range headers, bad percent-encoding, slow and
// idle connections, more connections than allowed. A real PostgreSQL, a
// real server on loopback; raw sockets for what a polite client never sends.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kiln/v1/registry.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/sha256.h"
#include "services/registry/http_range.h"
#include "services/registry/http_server.h"
#include "services/registry/registry_client.h"
#include "services/registry/registry_migrations.h"
#include "services/registry/registry_service.h"
#include "tests/support/loopback_service.h"
#include "tests/support/postgres_environment.h"

namespace kiln::registry {
namespace {

using nlohmann::json;

// A 2.4 KB document, as in the defect report.
const std::string kModelJson = absl::StrCat(R"({"format": "layers-model", "pad": ")",
                                            std::string(2400, 'x'), "\"}");

// One TCP connection to the server, sending exactly the given bytes.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawConnection() { ::close(fd_); }

  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // What arrives until the server closes the connection (then *closed) or
  // stays silent for `silence`.
  std::string Receive(absl::Duration silence, bool* closed) {
    const timeval timeout = absl::ToTimeval(silence);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string received;
    *closed = false;
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n > 0) {
        received.append(buffer, static_cast<size_t>(n));
        continue;
      }
      *closed = n == 0 || errno == ECONNRESET;
      return received;
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

class HttpLimitsTest : public kiln::testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    pool_ = kiln::testing::MigratedPool(database_uri(), "registry", Migrations());
    ASSERT_TRUE(pool_);
    store_ = std::make_unique<RegistryStore>(*pool_);
    cache_ = std::make_unique<ServingCache>(*store_,
                                            ServingCache::Options{64 << 20, absl::Seconds(60)});
    service_ = std::make_unique<RegistryServiceImpl>(*store_, *cache_, publish_budget_);
    server_ = kiln::testing::StartLoopbackServer({service_.get()});
    ASSERT_TRUE(server_);
    auto stub =
        kiln::v1::RegistryService::NewStub(MakeChannel(kiln::testing::LoopbackAddress(*server_)));
    const std::string manifest =
        json{{"format", "kiln-bundle"},
             {"files", {{{"path", "model.json"},
                         {"size", kModelJson.size()},
                         {"sha256", Sha256Hex(kModelJson)}}}}}
            .dump();
    kiln::v1::PublishHeader header;
    header.set_model("news");
    header.set_manifest_json(manifest);
    header.mutable_lineage()->set_job_id("job-1");
    auto published =
        PublishBundle(*stub, kiln::testing::kWriterToken, header, {{"model.json", kModelJson}});
    ASSERT_TRUE(published.ok()) << published.status();
    StartHttp(HttpConfig());
  }

  void TearDown() override {
    http_.reset();
    if (server_) server_->Shutdown(absl::Seconds(1));
    PostgresTest::TearDown();
  }

  void StartHttp(HttpConfig config) {
    http_.reset();
    config.listen = "127.0.0.1:0";
    auto http = HttpServer::Start(config, *store_, *cache_);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", http_->port());
    client_->set_url_encode(false);
    client_->set_connection_timeout(10);
    client_->set_read_timeout(10);
  }

  // The error message of a JSON error body.
  static std::string ErrorOf(const httplib::Result& response) {
    return json::parse(response->body).at("error").get<std::string>();
  }

  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<RegistryStore> store_;
  std::unique_ptr<ServingCache> cache_;
  PublishBudget publish_budget_{64 << 20};
  std::unique_ptr<RegistryServiceImpl> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<httplib::Client> client_;
};

constexpr char kModelPath[] = "/v1/models/news/versions/1/model.json";

TEST_F(HttpLimitsTest, RequestBodiesAreRefusedWith413BeforeTheyAreRead) {
  auto posted = client_->Post("/v1/models", std::string(100, 'x'), "text/plain");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 413);
  EXPECT_NE(ErrorOf(posted).find("Content-Length: 100"), std::string::npos) << posted->body;
  httplib::Request get;
  get.method = "GET";
  get.path = kModelPath;
  get.body = "abc";
  get.set_header("Content-Type", "text/plain");
  auto with_body = client_->send(get);
  ASSERT_TRUE(with_body);
  EXPECT_EQ(with_body->status, 413);

  // A chunked upload that never ends is answered at its first chunk, and
  // the connection is closed rather than read to its end.
  RawConnection upload(http_->port());
  ASSERT_TRUE(upload.connected());
  ASSERT_TRUE(upload.Send("POST /x HTTP/1.1\r\nHost: kiln\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "10\r\n0123456789abcdef\r\n"));
  bool closed = false;
  const std::string answer = upload.Receive(absl::Seconds(5), &closed);
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 413")) << answer;
  EXPECT_NE(answer.find("Transfer-Encoding is set"), std::string::npos) << answer;
  EXPECT_TRUE(closed);
}

TEST_F(HttpLimitsTest, TooManyOrTooLargeHeaderFieldsAre431) {
  httplib::Headers many;
  for (int i = 0; i < 150; ++i) many.emplace(absl::StrCat("X-Field-", i), "1");
  auto counted = client_->Get(kModelPath, many);
  ASSERT_TRUE(counted);
  EXPECT_EQ(counted->status, 431);
  EXPECT_NE(ErrorOf(counted).find("at most 100 fields"), std::string::npos) << counted->body;
  auto large = client_->Get(kModelPath, {{"X-Large", std::string(20 << 10, 'a')}});
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 431);
  EXPECT_NE(ErrorOf(large).find("16384 bytes"), std::string::npos) << large->body;
  // Within the limits, the same request is served.
  auto fewer = client_->Get(kModelPath, {{"X-Field", "1"}});
  ASSERT_TRUE(fewer);
  EXPECT_EQ(fewer->status, 200);
}

TEST_F(HttpLimitsTest, RangesAreMergedAndTooManyServeTheWholeDocument) {
  std::string repeated = "bytes=0-";
  for (int i = 1; i < 2700; ++i) repeated += ",0-";
  auto merged = client_->Get(kModelPath, {{"Range", repeated}});
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->status, 206);
  EXPECT_EQ(merged->body, kModelJson);
  EXPECT_EQ(merged->get_header_value("Content-Range"),
            absl::StrCat("bytes 0-", kModelJson.size() - 1, "/", kModelJson.size()));

  auto one = client_->Get(kModelPath, {{"Range", "bytes=2-5,4-9"}});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 206);
  EXPECT_EQ(one->body, kModelJson.substr(2, 8));

  auto two = client_->Get(kModelPath, {{"Range", "bytes=0-1,100-101"}});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->status, 206);
  EXPECT_TRUE(absl::StartsWith(two->get_header_value("Content-Type"), "multipart/byteranges"));
  EXPECT_NE(two->body.find(absl::StrCat("Content-Range: bytes 100-101/", kModelJson.size())),
            std::string::npos);

  std::string disjoint = "bytes=0-0";
  for (size_t i = 1; i <= kMaxByteRanges; ++i) absl::StrAppend(&disjoint, ",", i * 10, "-", i * 10);
  auto whole = client_->Get(kModelPath, {{"Range", disjoint}});
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->body, kModelJson);

  auto beyond = client_->Get(kModelPath, {{"Range", "bytes=99999-"}});
  ASSERT_TRUE(beyond);
  EXPECT_EQ(beyond->status, 416);
  EXPECT_EQ(beyond->get_header_value("Content-Range"), absl::StrCat("bytes */", kModelJson.size()));

  // A Range for another version of the file (If-Range) gets the whole file.
  auto stale = client_->Get(kModelPath, {{"Range", "bytes=0-1"}, {"If-Range", "\"other\""}});
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 200);
  EXPECT_EQ(stale->body, kModelJson);
}

TEST_F(HttpLimitsTest, BadPercentEncodingOrUtf8InThePathIs400WithAClearError) {
  for (const std::string path : {"/v1/%FF", "/v1/models/news/versions/1/%C3", "/v1/models/%zz",
                                 "/v1/models/news/versions/1/model%2"}) {
    auto response = client_->Get(path);
    ASSERT_TRUE(response) << path;
    EXPECT_EQ(response->status, 400) << path;
    EXPECT_NE(ErrorOf(response).find("malformed request path"), std::string::npos)
        << path << ": " << response->body;
  }
  EXPECT_NE(ErrorOf(client_->Get("/v1/%FF")).find("not UTF-8"), std::string::npos);
}

TEST_F(HttpLimitsTest, MethodsOtherThanGetHeadAndOptionsAre405) {
  auto deleted = client_->Delete(kModelPath);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 405);
  EXPECT_EQ(deleted->get_header_value("Allow"), "GET, HEAD, OPTIONS");
  auto head = client_->Head(kModelPath);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(kModelJson.size()));
  EXPECT_TRUE(head->body.empty());
}

TEST_F(HttpLimitsTest, SlowClientsDoNotHoldUpOthers) {
  HttpConfig config;
  config.threads = 2;
  StartHttp(config);
  // Many more half-sent requests than threads, each waiting for its end.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 32; ++i) {
    slow.push_back(std::make_unique<RawConnection>(http_->port()));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->Send("GET /healthz HTTP/1.1\r\nHost: kiln\r\n"));
  }
  client_->set_read_timeout(3);
  auto health = client_->Get("/healthz");
  ASSERT_TRUE(health) << "a request waited behind slow clients: " << health.error();
  EXPECT_EQ(health->status, 200);
}

TEST_F(HttpLimitsTest, IdleConnectionsAreClosedAfterTheTimeout) {
  HttpConfig config;
  config.idle_timeout_seconds = 1;
  StartHttp(config);
  RawConnection silent(http_->port());
  ASSERT_TRUE(silent.connected());
  ASSERT_TRUE(silent.Send("GET /healthz HTTP/1.1\r\n"));
  bool closed = false;
  silent.Receive(absl::Seconds(4), &closed);
  EXPECT_TRUE(closed) << "an idle connection was still open after 4 s with a 1 s timeout";
}

TEST_F(HttpLimitsTest, ConnectionsBeyondTheCapWaitUntilOneCloses) {
  HttpConfig config;
  config.threads = 1;
  config.max_connections = 2;
  StartHttp(config);
  auto first = std::make_unique<RawConnection>(http_->port());
  RawConnection second(http_->port());
  ASSERT_TRUE(first->connected() && second.connected());
  // Both are accepted: each gets its answer.
  bool closed = false;
  for (RawConnection* held : {first.get(), &second}) {
    ASSERT_TRUE(held->Send("GET /healthz HTTP/1.1\r\nHost: kiln\r\n\r\n"));
    EXPECT_TRUE(absl::StartsWith(held->Receive(absl::Seconds(1), &closed), "HTTP/1.1 200"));
  }
  RawConnection third(http_->port());
  ASSERT_TRUE(third.connected());  // by the kernel, into the listen backlog
  ASSERT_TRUE(third.Send("GET /healthz HTTP/1.1\r\nHost: kiln\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(third.Receive(absl::Seconds(1), &closed), "") << "a third connection was served";
  EXPECT_FALSE(closed);
  first.reset();
  EXPECT_TRUE(absl::StartsWith(third.Receive(absl::Seconds(5), &closed), "HTTP/1.1 200"));
}

}  // namespace
}  // namespace kiln::registry
