// `kiln ingest` end to end: the real CLI binary streams posts over gRPC on
// loopback into the data service backed by a real PostgreSQL.
#include <sqlite3.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include "clients/ingest/newsgroups_archive.h"
#include "gtest/gtest.h"
#include "kiln/v1/data.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/db/migrations.h"
#include "services/common/server.h"
#include "services/data/data_migrations.h"
#include "services/data/data_service.h"
#include "tests/support/loopback_service.h"
#include "tests/support/postgres_environment.h"

namespace kiln {
namespace {

using kiln::testing::kWriterToken;

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

class IngestTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    pool_ = kiln::testing::MigratedPool(database_uri(), "data", data::Migrations());
    ASSERT_TRUE(pool_);
    store_ = std::make_unique<data::PostStore>(*pool_);
    service_ = std::make_unique<data::DataServiceImpl>(*store_);
    server_ = kiln::testing::StartLoopbackServer({service_.get()}, /*public_reads=*/true);
    ASSERT_TRUE(server_);
    address_ = kiln::testing::LoopbackAddress(*server_);
    stub_ = kiln::v1::DataService::NewStub(MakeChannel(address_));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    server_.reset();
    service_.reset();
    store_.reset();
    pool_.reset();
    PostgresTest::TearDown();
  }

  // Runs the kiln CLI; stdout is captured, stderr passes through.
  CommandResult Kiln(const std::string& arguments) {
    const std::string command = std::string("KILN_TOKEN=") + kWriterToken + " KILN_DATA_ADDRESS=" +
                                address_ + " " + std::getenv("KILN_BINARY_DIR") +
                                "/clients/cli/kiln " + arguments;
    CommandResult result;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

  int64_t Count(const std::string& category, int first, int last) {
    kiln::v1::CountPostsRequest request;
    request.mutable_dataset()->add_categories(category);
    auto* years = request.mutable_dataset()->add_years();
    years->set_first(first);
    years->set_last(last);
    grpc::ClientContext context;
    kiln::v1::CountPostsResponse response;
    EXPECT_TRUE(stub_->CountPosts(&context, request, &response).ok());
    return response.total();
  }

  std::string TempPath(const std::string& name) { return ::testing::TempDir() + "/" + name; }

  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<data::PostStore> store_;
  std::unique_ptr<data::DataServiceImpl> service_;
  std::unique_ptr<GrpcServer> server_;
  std::string address_;
  std::unique_ptr<kiln::v1::DataService::Stub> stub_;
};

TEST_F(IngestTest, NewsgroupsTarballImportsEveryPostOnceWithTheArticleYears) {
  const std::string archive = ingest::NewsgroupsArchivePath(std::getenv("KILN_SOURCE_DIR"));
  // The expected counts come from reading the archive directly.
  auto posts = ingest::ReadNewsgroupsArchive(archive);
  ASSERT_TRUE(posts.ok()) << "the 20news corpus is needed: " << posts.status();
  std::map<std::string, std::map<std::string, int64_t>> expected;  // category -> split -> n
  for (const auto& post : *posts) ++expected[post.category][post.split];
  ASSERT_EQ(posts->size(), 18846u);
  ASSERT_EQ(expected.size(), 20u);

  CommandResult first = Kiln("ingest --json " + archive);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto summary = nlohmann::json::parse(first.output);
  EXPECT_EQ(summary["read"], 18846);
  EXPECT_EQ(summary["imported"], 18846);
  EXPECT_EQ(summary["skipped"], 0);
  EXPECT_EQ(summary["rejected"], 0);

  int64_t train = 0, test = 0;
  for (const auto& [category, splits] : expected) {
    EXPECT_EQ(Count(category, 1922, 1953), splits.at("train")) << category;
    EXPECT_EQ(Count(category, 1990, 2000), splits.at("test")) << category;
    EXPECT_EQ(Count(category, 1, 9999), splits.at("train") + splits.at("test")) << category;
    train += Count(category, 1922, 1953);
    test += Count(category, 1990, 2000);
  }
  EXPECT_EQ(train, 11314);
  EXPECT_EQ(test, 7532);

  CommandResult second = Kiln("ingest --json " + archive);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const auto again = nlohmann::json::parse(second.output);
  EXPECT_EQ(again["imported"], 0);
  EXPECT_EQ(again["skipped"], 18846);
  EXPECT_EQ(store_->Stats()->total(), 18846);
}

TEST_F(IngestTest, ArticleSqliteDatabaseImportsGoodRowsAndReportsEachBadOne) {
  const std::string path = TempPath("news.db");
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* sql =
      "CREATE TABLE news (Data TEXT, Category TEXT, Year INTEGER);"
      "INSERT INTO news VALUES ('The shuttle launch slipped a week.', 'sci.space', 1931);"
      "INSERT INTO news VALUES ('Goalie trade rumours again.', 'rec.sport.hockey', 1995);"
      "INSERT INTO news VALUES ('', 'sci.med', 1940);"                       /* empty body */
      "INSERT INTO news VALUES ('No topic at all', NULL, 1940);"             /* NULL category */
      "INSERT INTO news VALUES ('Weird topic', 'sci med!', 1940);"           /* malformed */
      "INSERT INTO news VALUES ('From the future', 'sci.med', 12000);"       /* year range */
      "INSERT INTO news VALUES ('Year as words', 'sci.med', 'nineteen');"    /* not integer */
      "INSERT INTO news VALUES (CAST(X'6361666580' AS TEXT), 'sci.med', 1941);" /* bad UTF-8 */
      "INSERT INTO news VALUES ('Year stored as text', 'sci.med', '1942');";
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  CommandResult result = Kiln("ingest --json " + path);
  EXPECT_EQ(result.exit_code, 3) << result.output;
  const auto summary = nlohmann::json::parse(result.output);
  EXPECT_EQ(summary["read"], 9);
  EXPECT_EQ(summary["imported"], 3);
  EXPECT_EQ(summary["rejected"], 6);
  std::map<std::string, std::string> reasons;  // source -> reason
  for (const auto& rejection : summary["rejections"]) {
    reasons[rejection["source"].get<std::string>()] = rejection["reason"].get<std::string>();
  }
  auto reason_of = [&](int rowid) { return reasons[path + ":rowid " + std::to_string(rowid)]; };
  EXPECT_NE(reason_of(3).find("empty"), std::string::npos) << reason_of(3);
  EXPECT_NE(reason_of(4).find("Category is NULL"), std::string::npos) << reason_of(4);
  EXPECT_NE(reason_of(5).find("malformed"), std::string::npos) << reason_of(5);
  EXPECT_NE(reason_of(6).find("outside 1..9999"), std::string::npos) << reason_of(6);
  EXPECT_NE(reason_of(7).find("not an integer"), std::string::npos) << reason_of(7);
  EXPECT_NE(reason_of(8).find("UTF-8"), std::string::npos) << reason_of(8);
  EXPECT_EQ(Count("sci.space", 1931, 1931), 1);
  EXPECT_EQ(Count("sci.med", 1942, 1942), 1);

  // Human-readable output names each bad row too.
  CommandResult text = Kiln("ingest " + path);
  EXPECT_EQ(text.exit_code, 3);
  EXPECT_NE(text.output.find("0 imported, 3 skipped"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find(path + ":rowid 6: year 12000 is outside 1..9999"), std::string::npos)
      << text.output;
}

TEST_F(IngestTest, JsonlAndCsvImportWithLineNumbersForBadRecords) {
  const std::string jsonl = TempPath("posts.jsonl");
  std::ofstream(jsonl) << "{\"body\": \"Orbit insertion burn\", \"category\": \"sci.space\", \"year\": 1925}\n"
                       << "not json\n"
                       << "\n"
                       << "{\"text\": \"Brake pads\", \"category\": \"rec.autos\", \"year\": \"1990\"}\n"
                       << "{\"Data\": \"Engine swap\", \"Category\": \"rec.autos\", \"Year\": 1991}\n";
  CommandResult jsonl_result = Kiln("ingest --json " + jsonl);
  EXPECT_EQ(jsonl_result.exit_code, 3) << jsonl_result.output;
  auto summary = nlohmann::json::parse(jsonl_result.output);
  EXPECT_EQ(summary["imported"], 2);
  EXPECT_EQ(summary["rejected"], 2);
  EXPECT_EQ(summary["rejections"][0]["source"], jsonl + ":2");
  EXPECT_EQ(summary["rejections"][1]["source"], jsonl + ":4");

  const std::string csv = TempPath("posts.csv");
  std::ofstream(csv) << "Category,Year,Body\r\n"
                     << "sci.med,1933,\"Migraine, aura and \"\"light\"\"\nsensitivity\"\r\n"
                     << "sci.med,later,Bad year\r\n";
  CommandResult csv_result = Kiln("ingest --json " + csv);
  EXPECT_EQ(csv_result.exit_code, 3) << csv_result.output;
  summary = nlohmann::json::parse(csv_result.output);
  EXPECT_EQ(summary["imported"], 1);
  EXPECT_EQ(summary["rejections"][0]["source"], csv + ":4");

  kiln::v1::QueryPostsRequest query;
  query.mutable_dataset()->add_categories("sci.med");
  auto* years = query.mutable_dataset()->add_years();
  years->set_first(1933);
  years->set_last(1933);
  grpc::ClientContext context;
  // A bulk read: a token even with public reads.
  PrepareContext(context, kWriterToken, absl::Seconds(30));
  auto reader = stub_->QueryPosts(&context, query);
  kiln::v1::QueryPostsResponse page;
  ASSERT_TRUE(reader->Read(&page));
  EXPECT_EQ(page.posts(0).body(), "Migraine, aura and \"light\"\nsensitivity");
}

// K8: a post over the message limit aborted the whole ingest, a year past
// int32 wrapped into range (4294969286 became 1990), and blank CSV lines
// counted as rejected records.
TEST_F(IngestTest, EachBadPostIsRejectedAloneAndTheRestIsStored) {
  const std::string jsonl = TempPath("mixed.jsonl");
  {
    std::ofstream out(jsonl);
    out << "{\"body\": \"Orbit insertion burn\", \"category\": \"sci.space\", \"year\": 1925}\n";
    out << "{\"body\": \"" << std::string(5 << 20, 'x') << "\", \"category\": \"sci.space\", \"year\": 1925}\n";
    out << "{\"body\": \"Wrapped year\", \"category\": \"sci.space\", \"year\": 4294969286}\n";
    out << "{\"body\": \"Huge year\", \"category\": \"sci.space\", \"year\": 18446744073709551615}\n";
    out << "{\"body\": \"Landing burn\", \"category\": \"sci.space\", \"year\": 1926}\n";
  }
  CommandResult result = Kiln("ingest --json " + jsonl);
  EXPECT_EQ(result.exit_code, 3) << result.output.substr(0, 2000);
  const auto summary = nlohmann::json::parse(result.output);
  EXPECT_EQ(summary["imported"], 2);
  ASSERT_EQ(summary["rejected"], 3);
  EXPECT_EQ(summary["rejections"][0]["source"], jsonl + ":2");
  EXPECT_NE(summary["rejections"][0]["reason"].get<std::string>().find("1 MiB"), std::string::npos);
  EXPECT_EQ(summary["rejections"][1]["reason"], "year 4294969286 is outside 1..9999");
  EXPECT_EQ(summary["rejections"][2]["source"], jsonl + ":4");
  EXPECT_EQ(Count("sci.space", 1, 9999), 2);
  EXPECT_EQ(Count("sci.space", 1990, 1990), 0);

  const std::string csv = TempPath("blank-lines.csv");
  std::ofstream(csv) << "category,year,body\r\n"
                     << "\r\n"
                     << "rec.autos,1930,Brake pads\r\n"
                     << "   \n"
                     << "rec.autos,1931,Engine swap\r\n"
                     << "\n\n";
  CommandResult csv_result = Kiln("ingest --json " + csv);
  EXPECT_EQ(csv_result.exit_code, 0) << csv_result.output;
  const auto csv_summary = nlohmann::json::parse(csv_result.output);
  EXPECT_EQ(csv_summary["imported"], 2);
  EXPECT_EQ(csv_summary["rejected"], 0);
  EXPECT_EQ(csv_summary["read"], 2);
}

TEST_F(IngestTest, UnreachableServiceAndUnknownFormatFail) {
  server_->Shutdown(absl::Seconds(1));
  server_.reset();
  const std::string jsonl = TempPath("one.jsonl");
  std::ofstream(jsonl) << "{\"body\": \"x\", \"category\": \"a\", \"year\": 1}\n";
  EXPECT_EQ(Kiln("ingest " + jsonl).exit_code, 1);
  EXPECT_EQ(Kiln("ingest --format xml " + jsonl).exit_code, 1);
}

}  // namespace
}  // namespace kiln
