// The registry end to end on loopback: a real PostgreSQL, the gRPC API and
// the HTTP API of one registry.
#include <archive.h>
#include <archive_entry.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <pqxx/pqxx>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kiln/v1/registry.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/db/migrations.h"
#include "services/common/server.h"
#include "services/common/sha256.h"
#include "services/registry/http_server.h"
#include "services/registry/registry_client.h"
#include "services/registry/registry_migrations.h"
#include "services/registry/registry_service.h"
#include "tests/support/loopback_service.h"
#include "tests/support/postgres_environment.h"

namespace kiln::registry {
namespace {

using nlohmann::json;
using Files = std::map<std::string, std::string>;

using kiln::testing::kAdminToken;
using kiln::testing::kReaderToken;
using kiln::testing::kWriterToken;
constexpr char kImmutable[] = "public, max-age=31536000, immutable";
const char* const kTables[] = {"models", "versions", "version_files", "aliases", "blobs"};

// A bundle-like set of files; `seed` varies model.json and vocab.json, the
// shard is the same for every seed (so versions share it).
Files Bundle(int seed) {
  std::string shard(3 << 20, '\0');
  for (size_t i = 0; i < shard.size(); ++i) shard[i] = static_cast<char>((i * 131) % 251);
  return {{"model.json", absl::StrCat(R"({"format": "layers-model", "seed": )", seed, "}")},
          {"group1-shard1of1.bin", shard},
          {"vocab.json", absl::StrCat(R"(["<pad>", "<oov>", "word)", seed, "\"]")},
          {"preprocess.json", R"({"format": "kiln-preprocess", "spec_version": "kiln-text-1"})"}};
}

std::string ManifestOf(const Files& files, double recall) {
  json entries = json::array();
  for (const auto& [path, bytes] : files) {
    entries.push_back({{"path", path}, {"size", bytes.size()}, {"sha256", Sha256Hex(bytes)}});
  }
  return json{{"format", "kiln-bundle"},
              {"classes", {"sci.space", "rec.autos"}},
              {"preprocessing", {{"spec_version", "kiln-text-1"}}},
              {"model", {{"weight_encoding", "float32"}}},
              {"metrics", {{"recall@1", recall}, {"accuracy", recall - 0.05}}},
              {"files", entries}}
      .dump(2);
}

// Every publish comes from a job of its own unless a test says otherwise:
// the registry keeps one version per job.
std::string NextJobId() {
  static std::atomic<int> jobs{0};
  return absl::StrCat("job-", ++jobs);
}

kiln::v1::PublishHeader Header(const std::string& model, const std::string& manifest,
                               const std::string& job_id = NextJobId()) {
  kiln::v1::PublishHeader header;
  header.set_model(model);
  header.set_manifest_json(manifest);
  header.mutable_lineage()->set_job_id(job_id);
  return header;
}

class RegistryServiceTest : public kiln::testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    pool_ = kiln::testing::MigratedPool(database_uri(), "registry", Migrations());
    ASSERT_TRUE(pool_);
    store_ = std::make_unique<RegistryStore>(*pool_);
    cache_ = std::make_unique<ServingCache>(*store_, ServingCache::Options{64 << 20, absl::Seconds(60)});
    service_ = std::make_unique<RegistryServiceImpl>(*store_, *cache_, publish_budget_);
    server_ = kiln::testing::StartLoopbackServer({service_.get()});
    ASSERT_TRUE(server_);
    stub_ = kiln::v1::RegistryService::NewStub(MakeChannel(kiln::testing::LoopbackAddress(*server_)));
    StartHttp(HttpConfig());
  }

  void TearDown() override {
    http_.reset();
    if (server_) server_->Shutdown(absl::Seconds(1));
    server_.reset();
    service_.reset();
    cache_.reset();
    store_.reset();
    pool_.reset();
    PostgresTest::TearDown();
  }

  void StartHttp(HttpConfig config) {
    http_.reset();
    config.listen = "127.0.0.1:0";
    config.threads = 8;
    auto http = HttpServer::Start(config, *store_, *cache_);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", http_->port());
    // Send paths exactly as written, traversal attempts included.
    client_->set_url_encode(false);
  }

  absl::StatusOr<kiln::v1::ModelVersion> Publish(const std::string& model, const Files& files,
                                                 double recall = 0.9,
                                                 const std::string& token = kWriterToken,
                                                 const std::string& job_id = NextJobId()) {
    return PublishBundle(*stub_, token, Header(model, ManifestOf(files, recall), job_id), files);
  }

  httplib::Result Get(const std::string& path, httplib::Headers headers = {}) {
    return client_->Get(path.c_str(), headers);
  }

  // Rows in every registry table.
  std::map<std::string, int64_t> CountRows() {
    std::map<std::string, int64_t> counts;
    auto lease = pool_->Acquire();
    EXPECT_TRUE(lease.ok());
    pqxx::work tx(**lease);
    for (const char* table : kTables) {
      counts[table] = tx.exec1(absl::StrCat("SELECT count(*) FROM registry.", table))[0].as<int64_t>();
    }
    return counts;
  }

  grpc::Status SetAlias(const std::string& model, const std::string& alias, int64_t version,
                        std::vector<kiln::v1::MetricRequirement> requirements = {},
                        const std::string& token = kWriterToken) {
    grpc::ClientContext context;
    PrepareContext(context, token, absl::Seconds(30));
    kiln::v1::SetAliasRequest request;
    request.set_model(model);
    request.set_alias(alias);
    request.set_version(version);
    for (auto& requirement : requirements) *request.add_requirements() = requirement;
    kiln::v1::Alias response;
    return stub_->SetAlias(&context, request, &response);
  }

  grpc::Status DeleteVersion(const std::string& model, int64_t version,
                             const std::string& token = kAdminToken) {
    grpc::ClientContext context;
    PrepareContext(context, token, absl::Seconds(30));
    kiln::v1::DeleteVersionRequest request;
    request.set_model(model);
    request.set_version(version);
    kiln::v1::DeleteVersionResponse response;
    return stub_->DeleteVersion(&context, request, &response);
  }

  kiln::v1::Model GetModel(const std::string& name) {
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken, absl::Seconds(30));
    kiln::v1::GetModelRequest request;
    request.set_name(name);
    kiln::v1::Model model;
    grpc::Status status = stub_->GetModel(&context, request, &model);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return model;
  }

  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<RegistryStore> store_;
  std::unique_ptr<ServingCache> cache_;
  // Room for any of the tests' concurrent publishes of Bundle().
  PublishBudget publish_budget_{64 << 20};
  std::unique_ptr<RegistryServiceImpl> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<kiln::v1::RegistryService::Stub> stub_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<httplib::Client> client_;
};

kiln::v1::MetricRequirement Require(const std::string& metric, double threshold) {
  kiln::v1::MetricRequirement requirement;
  requirement.set_metric(metric);
  requirement.set_comparison(kiln::v1::MetricRequirement::GREATER_OR_EQUAL);
  requirement.set_threshold(threshold);
  return requirement;
}

TEST_F(RegistryServiceTest, PublishMovesLatestAndAPromotedAliasServesItsManifest) {
  auto v1 = Publish("news", Bundle(1));
  ASSERT_TRUE(v1.ok()) << v1.status();
  auto v2 = Publish("news", Bundle(2));
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v1->version(), 1);
  EXPECT_EQ(v2->version(), 2);
  EXPECT_EQ(v2->files_size(), 4);
  EXPECT_FALSE(v2->lineage().job_id().empty());
  EXPECT_NE(v2->lineage().job_id(), v1->lineage().job_id());
  EXPECT_EQ(v2->lineage().preprocess_spec_version(), "kiln-text-1");
  EXPECT_EQ(v2->classes_size(), 2);
  EXPECT_DOUBLE_EQ(v2->metrics().at("recall@1"), 0.9);

  kiln::v1::Model model = GetModel("news");
  EXPECT_EQ(model.version_count(), 2);
  EXPECT_EQ(model.latest_version(), 2);
  ASSERT_EQ(model.aliases_size(), 1);
  EXPECT_EQ(model.aliases(0).name(), "latest");
  EXPECT_EQ(model.aliases(0).version(), 2);

  ASSERT_TRUE(SetAlias("news", "production", 1).ok());
  auto production = Get("/v1/models/news/aliases/production/manifest.json");
  ASSERT_TRUE(production);
  EXPECT_EQ(production->status, 200);
  EXPECT_EQ(production->body, v1->manifest_json());
  EXPECT_EQ(production->get_header_value("X-Kiln-Version"), "1");
  EXPECT_EQ(production->get_header_value("ETag"), absl::StrCat("\"", v1->manifest_sha256(), "\""));
  EXPECT_EQ(production->get_header_value("Cache-Control"), "no-cache");
  EXPECT_EQ(production->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(production->get_header_value("Access-Control-Allow-Origin"), "*");

  auto latest = Get("/v1/models/news/aliases/latest/manifest.json");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->body, v2->manifest_json());
  EXPECT_EQ(latest->get_header_value("X-Kiln-Version"), "2");

  auto unchanged = Get("/v1/models/news/aliases/production/manifest.json",
                       {{"If-None-Match", production->get_header_value("ETag")}});
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->status, 304);
  EXPECT_TRUE(unchanged->body.empty());
  EXPECT_EQ(unchanged->get_header_value("ETag"), production->get_header_value("ETag"));
  auto changed = Get("/v1/models/news/aliases/latest/manifest.json",
                     {{"If-None-Match", production->get_header_value("ETag")}});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);

  // Moving the alias shows at once: the service forgets what it cached.
  ASSERT_TRUE(SetAlias("news", "production", 2).ok());
  auto moved = Get("/v1/models/news/aliases/production/manifest.json",
                   {{"If-None-Match", production->get_header_value("ETag")}});
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->status, 200);
  EXPECT_EQ(moved->get_header_value("X-Kiln-Version"), "2");
}

TEST_F(RegistryServiceTest, VersionFilesAreImmutableTypedAndCorsEnabled) {
  const Files files = Bundle(1);
  auto v1 = Publish("news", files, 0.875);
  ASSERT_TRUE(v1.ok()) << v1.status();
  const std::map<std::string, std::string> types = {
      {"model.json", "application/json"},
      {"group1-shard1of1.bin", "application/octet-stream"},
      {"vocab.json", "application/json"},
      {"preprocess.json", "application/json"}};
  for (const auto& [path, bytes] : files) {
    auto response = Get("/v1/models/news/versions/1/" + path);
    ASSERT_TRUE(response) << path;
    EXPECT_EQ(response->status, 200) << path;
    EXPECT_EQ(response->body, bytes) << path;
    EXPECT_EQ(response->get_header_value("Cache-Control"), kImmutable) << path;
    EXPECT_EQ(response->get_header_value("ETag"), absl::StrCat("\"", Sha256Hex(bytes), "\""));
    EXPECT_EQ(response->get_header_value("Content-Type"), types.at(path)) << path;
    EXPECT_EQ(response->get_header_value("Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(response->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_NE(response->get_header_value("Access-Control-Expose-Headers").find("ETag"),
              std::string::npos);
    auto cached = Get("/v1/models/news/versions/1/" + path,
                      {{"If-None-Match", response->get_header_value("ETag")}});
    ASSERT_TRUE(cached);
    EXPECT_EQ(cached->status, 304) << path;
    EXPECT_EQ(cached->get_header_value("Cache-Control"), kImmutable);
  }
  auto manifest = Get("/v1/models/news/versions/1/manifest.json");
  ASSERT_TRUE(manifest);
  EXPECT_EQ(manifest->body, v1->manifest_json());
  EXPECT_EQ(manifest->get_header_value("Cache-Control"), kImmutable);

  auto metrics = Get("/v1/models/news/versions/1/metrics.json");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_DOUBLE_EQ(json::parse(metrics->body).at("recall@1").get<double>(), 0.875);

  auto preflight = client_->Options("/v1/models/news/versions/1/model.json",
                                    {{"Origin", "https://app.example"},
                                     {"Access-Control-Request-Method", "GET"},
                                     {"Access-Control-Request-Headers", "if-none-match"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "*");
  EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Headers").find("If-None-Match"),
            std::string::npos);

  auto listing = Get("/v1/models");
  ASSERT_TRUE(listing);
  const json models = json::parse(listing->body).at("models");
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].at("name"), "news");
  EXPECT_EQ(models[0].at("aliases").at("latest"), 1);
  auto model = Get("/v1/models/news");
  ASSERT_TRUE(model);
  const json versions = json::parse(model->body).at("versions");
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_DOUBLE_EQ(versions[0].at("metrics").at("recall@1").get<double>(), 0.875);
  EXPECT_EQ(versions[0].at("files").size(), 4u);
  EXPECT_EQ(versions[0].at("aliases"), json({"latest"}));
}

TEST_F(RegistryServiceTest, HttpAnswers404ForUnknownAnd400ForMalformedOrTraversal) {
  ASSERT_TRUE(Publish("news", Bundle(1)).ok());
  for (const std::string path :
       {"/v1/models/nope", "/v1/models/nope/aliases/latest/manifest.json",
        "/v1/models/news/aliases/staging/manifest.json", "/v1/models/news/versions/9/model.json",
        "/v1/models/news/versions/1/nothere.bin", "/v1/models/news/versions/1/sub/model.json",
        "/v1/elsewhere", "/index.html"}) {
    auto response = Get(path);
    ASSERT_TRUE(response) << path;
    EXPECT_EQ(response->status, 404) << path;
    EXPECT_TRUE(json::parse(response->body).contains("error")) << path << ": " << response->body;
    EXPECT_EQ(response->get_header_value("Access-Control-Allow-Origin"), "*");
  }
  for (const std::string path :
       {"/v1/models/News", "/v1/models/news/aliases/Prod/manifest.json",
        "/v1/models/news/versions/0/model.json", "/v1/models/news/versions/x/model.json",
        "/v1/models/news/versions/1/../1/model.json", "/v1/models/news/versions/1/%2e%2e/model.json",
        "/v1/models/news/versions/1/%2E%2E/%2E%2E/etc/passwd", "/v1/models/news/versions/1//etc/passwd",
        "/v1/models/news/versions/1/a%5c..%5cmodel.json", "/v1/models/news/./versions/1/model.json"}) {
    auto response = Get(path);
    ASSERT_TRUE(response) << path;
    EXPECT_EQ(response->status, 400) << path;
    EXPECT_TRUE(json::parse(response->body).contains("error")) << path << ": " << response->body;
  }
  auto health = Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(RegistryServiceTest, InterruptedPublishesLeaveNoTrace) {
  ASSERT_TRUE(Publish("news", Bundle(1)).ok());
  const std::map<std::string, int64_t> before = CountRows();
  const Files files = Bundle(7);
  const std::string manifest = ManifestOf(files, 0.9);

  // Writes `bytes` of `path` as chunks, stopping after `limit` bytes.
  auto send = [](grpc::ClientWriter<kiln::v1::PublishVersionRequest>& writer,
                 const std::string& path, const std::string& bytes, size_t limit) {
    size_t offset = 0;
    do {
      kiln::v1::PublishVersionRequest request;
      auto* chunk = request.mutable_file();
      chunk->set_path(path);
      chunk->set_offset(static_cast<int64_t>(offset));
      chunk->set_data(bytes.substr(offset, 1 << 20));
      offset += chunk->data().size();
      chunk->set_last(offset == bytes.size());
      if (!writer.Write(request)) return false;
    } while (offset < bytes.size() && offset < limit);
    return true;
  };

  // A stream that carries every file whole but ends without the commit.
  {
    grpc::ClientContext context;
    PrepareContext(context, kWriterToken, absl::Seconds(30));
    kiln::v1::ModelVersion response;
    auto writer = stub_->PublishVersion(&context, &response);
    kiln::v1::PublishVersionRequest request;
    *request.mutable_header() = Header("fresh", manifest);
    ASSERT_TRUE(writer->Write(request));
    for (const auto& [path, bytes] : files) {
      ASSERT_TRUE(send(*writer, path, bytes, bytes.size()));
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
    EXPECT_NE(status.error_message().find("nothing was stored"), std::string::npos)
        << status.error_message();
  }
  EXPECT_EQ(CountRows(), before);

  // The client cancels mid-stream: the small files whole, the shard half.
  {
    grpc::ClientContext context;
    PrepareContext(context, kWriterToken, absl::Seconds(30));
    kiln::v1::ModelVersion response;
    auto writer = stub_->PublishVersion(&context, &response);
    kiln::v1::PublishVersionRequest request;
    *request.mutable_header() = Header("news", manifest);
    ASSERT_TRUE(writer->Write(request));
    for (const auto& [path, bytes] : files) {
      if (path != "group1-shard1of1.bin") {
        ASSERT_TRUE(send(*writer, path, bytes, bytes.size()));
      }
    }
    ASSERT_TRUE(send(*writer, "group1-shard1of1.bin", files.at("group1-shard1of1.bin"), 1 << 20));
    context.TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_EQ(CountRows(), before);
  EXPECT_EQ(GetModel("news").version_count(), 1);

  // Nothing was reserved either: the next publish gets the next number.
  auto next = Publish("news", files);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->version(), 2);
}

TEST_F(RegistryServiceTest, PublishesBeyondTheMemoryBudgetAreRefusedAtTheirHeader) {
  const std::map<std::string, int64_t> before = CountRows();
  // Two publishes of 31 MiB that have sent their headers and wait: the
  // 3 MiB of Bundle() no longer fit in the 64 MiB.
  struct Open {
    grpc::ClientContext context;
    kiln::v1::ModelVersion response;
    std::unique_ptr<grpc::ClientWriter<kiln::v1::PublishVersionRequest>> writer;
  };
  std::vector<std::unique_ptr<Open>> open;
  for (int i = 0; i < 2; ++i) {
    auto stream = std::make_unique<Open>();
    PrepareContext(stream->context, kWriterToken, absl::Seconds(30));
    stream->writer = stub_->PublishVersion(&stream->context, &stream->response);
    kiln::v1::PublishVersionRequest request;
    Files large = Bundle(10 + i);
    large["group1-shard1of1.bin"].resize(31 << 20);
    *request.mutable_header() = Header("news", ManifestOf(large, 0.9));
    ASSERT_TRUE(stream->writer->Write(request));
    open.push_back(std::move(stream));
  }
  // Until the service has read both headers, nothing is held.
  for (int i = 0; i < 500 && publish_budget_.held() < (62 << 20); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GE(publish_budget_.held(), 62 << 20);
  const absl::StatusOr<kiln::v1::ModelVersion> refused = Publish("news", Bundle(3));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_NE(refused.status().message().find("KILN_MAX_PUBLISH_MIB"), std::string::npos)
      << refused.status();
  EXPECT_NE(refused.status().message().find("nothing was stored"), std::string::npos);
  EXPECT_EQ(CountRows(), before);

  // One of them ends: its memory is free again for the next publish.
  open[0]->writer->WritesDone();
  EXPECT_EQ(open[0]->writer->Finish().error_code(), grpc::StatusCode::ABORTED);
  const absl::StatusOr<kiln::v1::ModelVersion> fits = Publish("news", Bundle(3));
  EXPECT_TRUE(fits.ok()) << fits.status();
  open[1]->context.TryCancel();
  open[1]->writer->Finish();
}

TEST_F(RegistryServiceTest, WrongSha256MissingAndUnknownFilesAreRefused) {
  const std::map<std::string, int64_t> empty = CountRows();
  Files files = Bundle(1);
  const std::string manifest = ManifestOf(files, 0.9);
  const std::string genuine = Sha256Hex(files["vocab.json"]);
  files["vocab.json"][0] = 'X';  // same size, other bytes
  auto wrong = PublishBundle(*stub_, kWriterToken, Header("news", manifest), files);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("vocab.json"), std::string::npos) << wrong.status();
  EXPECT_NE(wrong.status().message().find(genuine), std::string::npos) << wrong.status();
  EXPECT_NE(wrong.status().message().find(Sha256Hex(files["vocab.json"])), std::string::npos)
      << wrong.status();

  Files missing = Bundle(1);
  const std::string full_manifest = ManifestOf(missing, 0.9);
  missing.erase("preprocess.json");
  auto incomplete = PublishBundle(*stub_, kWriterToken, Header("news", full_manifest), missing);
  ASSERT_FALSE(incomplete.ok());
  EXPECT_NE(incomplete.status().message().find("preprocess.json"), std::string::npos);

  Files extra = Bundle(1);
  extra["stowaway.bin"] = "x";
  auto unknown = PublishBundle(*stub_, kWriterToken, Header("news", full_manifest), extra);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("stowaway.bin"), std::string::npos);

  auto unsafe = PublishBundle(*stub_, kWriterToken,
                              Header("news", ManifestOf({{"../evil.js", "x"}}, 0.9)),
                              {{"../evil.js", "x"}});
  ASSERT_FALSE(unsafe.ok());
  EXPECT_EQ(unsafe.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CountRows(), empty);
}

TEST_F(RegistryServiceTest, IdenticalFilesAreStoredOnceAndFreedWithTheirLastVersion) {
  ASSERT_TRUE(Publish("news", Bundle(1)).ok());
  ASSERT_TRUE(Publish("news", Bundle(2)).ok());
  ASSERT_TRUE(Publish("other", Bundle(1)).ok());
  // Bundle(1) and Bundle(2) share the shard and preprocess.json.
  EXPECT_EQ(CountRows()["blobs"], 6);
  EXPECT_EQ(CountRows()["version_files"], 12);

  // news v1's files all live on in other v1.
  ASSERT_TRUE(DeleteVersion("news", 1).ok());
  EXPECT_EQ(CountRows()["blobs"], 6);
  ASSERT_TRUE(Publish("other", Bundle(3)).ok());
  EXPECT_EQ(CountRows()["blobs"], 8);
  // other v1's model.json and vocab.json were only its own now.
  ASSERT_TRUE(DeleteVersion("other", 1).ok());
  EXPECT_EQ(CountRows()["blobs"], 6);
  auto gone = Get("/v1/models/other/versions/1/model.json");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  auto shard = Get("/v1/models/news/versions/2/group1-shard1of1.bin");
  ASSERT_TRUE(shard);
  EXPECT_EQ(shard->body, Bundle(2)["group1-shard1of1.bin"]);
}

TEST_F(RegistryServiceTest, DeleteVersionIsRefusedWhileAnAliasPointsAtIt) {
  ASSERT_TRUE(Publish("news", Bundle(1)).ok());
  ASSERT_TRUE(Publish("news", Bundle(2)).ok());
  ASSERT_TRUE(SetAlias("news", "production", 1).ok());
  grpc::Status refused = DeleteVersion("news", 1);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("production"), std::string::npos) << refused.error_message();
  EXPECT_EQ(DeleteVersion("news", 2).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  grpc::ClientContext context;
  PrepareContext(context, kAdminToken, absl::Seconds(30));
  kiln::v1::DeleteAliasRequest request;
  request.set_model("news");
  request.set_alias("production");
  kiln::v1::DeleteAliasResponse response;
  ASSERT_TRUE(stub_->DeleteAlias(&context, request, &response).ok());
  ASSERT_TRUE(DeleteVersion("news", 1).ok());
  EXPECT_EQ(DeleteVersion("news", 1).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetModel("news").version_count(), 1);
  // Numbers are never reused.
  auto v3 = Publish("news", Bundle(3));
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->version(), 3);
}

TEST_F(RegistryServiceTest, SetAliasGateIsRefusedWithTheFiguresAndAcceptedWhenMet) {
  ASSERT_TRUE(Publish("news", Bundle(1), 0.8).ok());
  ASSERT_TRUE(Publish("news", Bundle(2), 0.9).ok());
  grpc::Status refused = SetAlias("news", "production", 1, {Require("recall@1", 0.85), Require("f1", 0.5)});
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("recall@1 >= 0.85 (actual 0.8)"), std::string::npos)
      << refused.error_message();
  EXPECT_NE(refused.error_message().find("f1"), std::string::npos) << refused.error_message();
  auto none = Get("/v1/models/news/aliases/production/manifest.json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);

  EXPECT_TRUE(SetAlias("news", "production", 2, {Require("recall@1", 0.85)}).ok());
  EXPECT_EQ(SetAlias("news", "latest", 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SetAlias("news", "production", 9).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(SetAlias("news", "Bad!", 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// K8: a job whose worker published and then lost its lease was trained again
// and published a second version (and moved `latest` twice). The registry
// keeps one version per job: the retry gets the first one back.
TEST_F(RegistryServiceTest, APublishIsIdempotentPerJob) {
  auto first = Publish("news", Bundle(1), 0.9, kWriterToken, "job-000042");
  ASSERT_TRUE(first.ok()) << first.status();
  auto other = Publish("news", Bundle(2), 0.9, kWriterToken, "job-000043");
  ASSERT_TRUE(other.ok()) << other.status();
  const auto rows_before = CountRows();
  // The retry trains again: different bytes, same job.
  auto retried = Publish("news", Bundle(3), 0.9, kWriterToken, "job-000042");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->version(), first->version());
  EXPECT_EQ(retried->manifest_sha256(), first->manifest_sha256());
  EXPECT_EQ(CountRows(), rows_before);
  const kiln::v1::Model model = GetModel("news");
  EXPECT_EQ(model.version_count(), 2);
  EXPECT_EQ(model.aliases(0).version(), other->version());  // latest did not move back
}

TEST_F(RegistryServiceTest, ConcurrentPublishesGetDistinctNumbers) {
  constexpr int kPublishes = 4;
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<kiln::v1::ModelVersion>> results(kPublishes,
                                                              absl::UnknownError("not run"));
  for (int i = 0; i < kPublishes; ++i) {
    threads.emplace_back([&, i] { results[i] = Publish("news", Bundle(10 + i)); });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<int64_t> numbers;
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    numbers.insert(result->version());
  }
  EXPECT_EQ(numbers, (std::set<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(GetModel("news").latest_version(), 4);
}

TEST_F(RegistryServiceTest, BundleTarGzHoldsEveryFileWithItsBytes) {
  Files files = Bundle(1);
  auto v1 = Publish("news", files);
  ASSERT_TRUE(v1.ok());
  files["manifest.json"] = v1->manifest_json();
  auto archive = Get("/v1/models/news/versions/1/bundle.tar.gz");
  ASSERT_TRUE(archive);
  ASSERT_EQ(archive->status, 200);
  EXPECT_EQ(archive->get_header_value("Cache-Control"), kImmutable);
  // K8: archives were rebuilt and gzipped on every request, 304s included.
  // Their tag names the manifest, so a revalidation is answered before any
  // archive is built, and a built one is kept.
  const std::string etag = archive->get_header_value("ETag");
  EXPECT_EQ(etag, absl::StrCat("\"", v1->manifest_sha256(), ".bundle.tar.gz.4\""));
  auto again = Get("/v1/models/news/versions/1/bundle.tar.gz");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, archive->body);
  EXPECT_EQ(again->get_header_value("ETag"), etag);
  auto revalidated = Get("/v1/models/news/versions/1/bundle.tar.gz", {{"If-None-Match", etag}});
  ASSERT_TRUE(revalidated);
  EXPECT_EQ(revalidated->status, 304);
  EXPECT_TRUE(revalidated->body.empty());
  auto package = Get("/v1/models/news/versions/1/npm.tgz");
  ASSERT_TRUE(package);
  EXPECT_EQ(package->status, 200);
  EXPECT_EQ(package->get_header_value("ETag"), absl::StrCat("\"", v1->manifest_sha256(), ".npm.tgz.4\""));

  std::unique_ptr<struct archive, decltype(&archive_read_free)> reader(archive_read_new(),
                                                                      archive_read_free);
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_tar(reader.get());
  ASSERT_EQ(archive_read_open_memory(reader.get(), archive->body.data(), archive->body.size()),
            ARCHIVE_OK);
  Files unpacked;
  struct archive_entry* entry = nullptr;
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
    std::string bytes(static_cast<size_t>(archive_entry_size(entry)), '\0');
    if (!bytes.empty()) {
      ASSERT_EQ(archive_read_data(reader.get(), bytes.data(), bytes.size()),
                static_cast<la_ssize_t>(bytes.size()));
    }
    unpacked[archive_entry_pathname(entry)] = bytes;
  }
  EXPECT_EQ(unpacked, files);
}

// K12: bundles of format 1 (preprocess.js) published before format 2 are
// still served file by file and as a tarball; an npm package, whose library
// reads preprocess.json only, is refused with the reason.
TEST_F(RegistryServiceTest, Format1BundlesAreServedButGetNoNpmPackage) {
  Files files = Bundle(1);
  files.erase("preprocess.json");
  files["preprocess.js"] = "var KilnPreprocess = {};\n";
  ASSERT_TRUE(Publish("news", files).ok());
  auto script = Get("/v1/models/news/versions/1/preprocess.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->body, files["preprocess.js"]);
  auto archive = Get("/v1/models/news/versions/1/bundle.tar.gz");
  ASSERT_TRUE(archive);
  EXPECT_EQ(archive->status, 200);
  auto package = Get("/v1/models/news/versions/1/npm.tgz");
  ASSERT_TRUE(package);
  EXPECT_EQ(package->status, 409);
  EXPECT_EQ(json::parse(package->body)["error"],
            "version 1 of model \"news\" has no preprocess.json (a bundle of format 1, whose "
            "preprocessing is preprocess.js): npm packages are made from bundles of format 2, which "
            "this Kiln publishes; train or publish the model again");
}

TEST_F(RegistryServiceTest, DownloadVersionStreamsTheFilesOfAnAlias) {
  const Files files = Bundle(1);
  auto v1 = Publish("news", files);
  ASSERT_TRUE(v1.ok());
  auto download = [&](std::vector<std::string> paths, Files& out) {
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken, absl::Seconds(30));
    kiln::v1::DownloadVersionRequest request;
    request.mutable_ref()->set_model("news");
    request.mutable_ref()->set_alias("latest");
    for (const auto& path : paths) request.add_paths(path);
    auto reader = stub_->DownloadVersion(&context, request);
    kiln::v1::DownloadVersionResponse message;
    bool first = true;
    while (reader->Read(&message)) {
      if (first) {
        EXPECT_EQ(message.version().version(), 1);
        first = false;
        continue;
      }
      EXPECT_LE(message.chunk().data().size(), size_t{1} << 20);
      std::string& bytes = out[message.chunk().path()];
      EXPECT_EQ(message.chunk().offset(), static_cast<int64_t>(bytes.size()));
      bytes += message.chunk().data();
    }
    return reader->Finish();
  };
  Files all;
  ASSERT_TRUE(download({}, all).ok());
  Files expected = files;
  expected["manifest.json"] = v1->manifest_json();
  EXPECT_EQ(all, expected);
  Files some;
  ASSERT_TRUE(download({"vocab.json"}, some).ok());
  EXPECT_EQ(some, (Files{{"vocab.json", files.at("vocab.json")}}));
  Files none;
  EXPECT_EQ(download({"nothere.bin"}, none).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RegistryServiceTest, ListVersionsPagesNewestFirst) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Publish("news", Bundle(i)).ok());
  std::vector<int64_t> seen;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken, absl::Seconds(30));
    kiln::v1::ListVersionsRequest request;
    request.set_model("news");
    request.set_page_size(2);
    request.set_page_token(token);
    kiln::v1::ListVersionsResponse response;
    ASSERT_TRUE(stub_->ListVersions(&context, request, &response).ok());
    for (const auto& version : response.versions()) {
      seen.push_back(version.version());
      EXPECT_EQ(version.files_size(), 4);
    }
    token = response.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(seen, (std::vector<int64_t>{3, 2, 1}));
  EXPECT_EQ(pages, 2);
}

TEST_F(RegistryServiceTest, PublishNeedsAWriterAndDeleteAnAdmin) {
  auto as_reader = Publish("news", Bundle(1), 0.9, kReaderToken);
  EXPECT_EQ(as_reader.status().code(), absl::StatusCode::kPermissionDenied);
  auto anonymous = Publish("news", Bundle(1), 0.9, "");
  EXPECT_EQ(anonymous.status().code(), absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(Publish("news", Bundle(1)).ok());
  ASSERT_TRUE(Publish("news", Bundle(2)).ok());
  EXPECT_EQ(SetAlias("news", "staging", 1, {}, kReaderToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DeleteVersion("news", 1, kWriterToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(DeleteVersion("news", 1, kAdminToken).ok());
}

TEST_F(RegistryServiceTest, TestOnlySwitchCorruptsOneServedFileOnce) {
  ASSERT_TRUE(Publish("news", Bundle(1)).ok());
  // Off by default: POST is then no method of the read-only API.
  EXPECT_EQ(client_->Post("/test/corrupt-next?file=vocab.json")->status, 405);

  HttpConfig config;
  config.test_corrupt_once = true;
  StartHttp(config);
  auto armed = client_->Post("/test/corrupt-next?file=vocab.json");
  ASSERT_TRUE(armed);
  EXPECT_EQ(armed->status, 200);
  const std::string genuine = Bundle(1)["vocab.json"];
  auto corrupted = Get("/v1/models/news/versions/1/vocab.json");
  ASSERT_TRUE(corrupted);
  EXPECT_EQ(corrupted->status, 200);
  EXPECT_EQ(corrupted->body.size(), genuine.size());
  EXPECT_NE(corrupted->body, genuine);
  EXPECT_EQ(corrupted->get_header_value("ETag"), absl::StrCat("\"", Sha256Hex(genuine), "\""));
  auto healthy = Get("/v1/models/news/versions/1/vocab.json");
  ASSERT_TRUE(healthy);
  EXPECT_EQ(healthy->body, genuine);
}

TEST_F(RegistryServiceTest, WebRootIsServedWithoutTraversal) {
  const std::filesystem::path root = std::filesystem::temp_directory_path() /
                                     absl::StrCat("kiln-web-", database_name());
  std::filesystem::create_directories(root / "assets");
  std::ofstream(root / "index.html") << "<!doctype html><title>kiln</title>";
  std::ofstream(root / "assets" / "app.js") << "console.log('kiln');";
  HttpConfig config;
  config.web_root = root.string();
  StartHttp(config);
  auto index = Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<!doctype html><title>kiln</title>");
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index->get_header_value("X-Content-Type-Options"), "nosniff");
  auto script = Get("/assets/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript");
  auto revalidated = Get("/assets/app.js", {{"If-None-Match", script->get_header_value("ETag")}});
  ASSERT_TRUE(revalidated);
  EXPECT_EQ(revalidated->status, 304);
  EXPECT_EQ(Get("/assets/../../etc/passwd")->status, 400);
  EXPECT_EQ(Get("/%2e%2e/etc/passwd")->status, 400);
  EXPECT_EQ(Get("/missing.js")->status, 404);
  EXPECT_EQ(Get("/v1/models")->status, 200);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace kiln::registry
