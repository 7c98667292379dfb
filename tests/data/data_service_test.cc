// The data service over real gRPC on loopback with a real PostgreSQL.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <pqxx/pqxx>
#include <set>

#include "gtest/gtest.h"
#include "kiln/v1/data.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/db/migrations.h"
#include "services/common/db/transaction.h"
#include "services/common/server.h"
#include "services/common/validation.h"
#include "services/data/data_migrations.h"
#include "services/data/data_service.h"
#include "tests/support/loopback_service.h"
#include "tests/support/postgres_environment.h"

namespace kiln::data {
namespace {

using kiln::testing::kReaderToken;
using kiln::testing::kWriterToken;

kiln::v1::PostInput MakePost(std::string body, std::string category, int year,
                             std::string source = "") {
  kiln::v1::PostInput post;
  post.set_body(std::move(body));
  post.set_category(std::move(category));
  post.set_year(year);
  post.set_source(std::move(source));
  return post;
}

kiln::v1::DatasetSpec Dataset(std::vector<std::string> categories, int first, int last) {
  kiln::v1::DatasetSpec spec;
  for (auto& category : categories) spec.add_categories(category);
  auto* years = spec.add_years();
  years->set_first(first);
  years->set_last(last);
  return spec;
}

class DataServiceTest : public kiln::testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    pool_ = kiln::testing::MigratedPool(database_uri(), "data", Migrations());
    ASSERT_TRUE(pool_);
    store_ = std::make_unique<PostStore>(*pool_);
    service_ = std::make_unique<DataServiceImpl>(*store_);
    server_ = kiln::testing::StartLoopbackServer({service_.get()});
    ASSERT_TRUE(server_);
    stub_ = kiln::v1::DataService::NewStub(MakeChannel(kiln::testing::LoopbackAddress(*server_)));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    server_.reset();
    service_.reset();
    store_.reset();
    pool_.reset();
    PostgresTest::TearDown();
  }

  // Streams `batches` and returns the reply.
  grpc::Status Import(const std::vector<std::vector<kiln::v1::PostInput>>& batches,
                      kiln::v1::ImportPostsResponse& response,
                      const std::string& token = kWriterToken) {
    grpc::ClientContext context;
    PrepareContext(context, token, absl::Seconds(30));
    auto writer = stub_->ImportPosts(&context, &response);
    for (const auto& batch : batches) {
      kiln::v1::ImportPostsRequest request;
      for (const auto& post : batch) *request.add_posts() = post;
      if (!writer->Write(request)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  std::vector<kiln::v1::Post> Query(const kiln::v1::QueryPostsRequest& request,
                                    int* pages = nullptr) {
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken, absl::Seconds(30));
    auto reader = stub_->QueryPosts(&context, request);
    std::vector<kiln::v1::Post> posts;
    kiln::v1::QueryPostsResponse page;
    int count = 0;
    while (reader->Read(&page)) {
      ++count;
      EXPECT_EQ(page.last_id(), page.posts(page.posts_size() - 1).id());
      for (const auto& post : page.posts()) posts.push_back(post);
    }
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (pages) *pages = count;
    return posts;
  }

  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<PostStore> store_;
  std::unique_ptr<DataServiceImpl> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<kiln::v1::DataService::Stub> stub_;
};

TEST_F(DataServiceTest, ImportsValidPostsAndRejectsEachBadOneWithItsReason) {
  const std::string invalid_utf8("caf\xC3", 4);
  std::vector<kiln::v1::PostInput> batch = {
      MakePost("Rockets reach orbit.", "sci.space", 1930, "a"),
      MakePost("", "sci.space", 1930, "empty"),
      MakePost("No category here", "", 1930, "no-category"),
      MakePost("Bad category", "sci space!", 1930, "bad-category"),
      MakePost("Too early", "sci.med", 0, "year-0"),
      MakePost("Too late", "sci.med", 10000, "year-10000"),
      MakePost(std::string((1 << 20) + 1, 'x'), "sci.med", 1990, "huge"),
      MakePost(invalid_utf8, "sci.med", 1990, "bad-utf8"),
      MakePost("Doctors and headaches \xF0\x9F\x98\x80", "sci.med", 1995, "b"),
  };
  kiln::v1::ImportPostsResponse response;
  ASSERT_TRUE(Import({batch}, response).ok());
  EXPECT_EQ(response.imported(), 2);
  EXPECT_EQ(response.skipped(), 0);
  EXPECT_EQ(response.rejected(), 7);
  ASSERT_EQ(response.rejections_size(), 7);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"body", "empty"},     {"category", "missing"}, {"category", "malformed"},
      {"year", "outside"},   {"year", "outside"},     {"body", "1 MiB"},
      {"body", "UTF-8"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& rejection = response.rejections(static_cast<int>(i));
    EXPECT_EQ(rejection.index(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(rejection.field(), expected[i].first) << rejection.reason();
    EXPECT_NE(rejection.reason().find(expected[i].second), std::string::npos) << rejection.reason();
    EXPECT_EQ(rejection.source(), batch[i + 1].source());
  }
}

// K8: the echoed source of a rejected post was cut at 512 bytes wherever
// that fell, through a character, and the CLI's JSON report then failed.
TEST_F(DataServiceTest, RejectionsEchoSourcesAsWholeUtf8) {
  const std::string long_source = "a" + [] {
    std::string s;
    for (int i = 0; i < 300; ++i) s += "\xC3\xA9";  // é: the 512-byte cut falls inside one
    return s;
  }();
  const std::string broken_source = "feed/\xFF\xFEpost";
  kiln::v1::ImportPostsResponse response;
  ASSERT_TRUE(Import({{MakePost("x", "sci.space", 1930, long_source),
                       MakePost("y", "sci.space", 1930, broken_source)}},
                     response)
                  .ok());
  ASSERT_EQ(response.rejections_size(), 2);
  for (const auto& rejection : response.rejections()) {
    EXPECT_EQ(rejection.field(), "source");
    EXPECT_TRUE(IsValidUtf8(rejection.source())) << rejection.source();
    EXPECT_LE(rejection.source().size(), 512u);
  }
  EXPECT_EQ(response.rejections(0).source(), long_source.substr(0, 511));
  EXPECT_EQ(response.rejections(1).source(), "feed/\xEF\xBF\xBD\xEF\xBF\xBDpost");
}

TEST_F(DataServiceTest, ReimportSkipsStoredPostsAcrossBatches) {
  std::vector<kiln::v1::PostInput> first = {MakePost("one", "rec.autos", 1925),
                                            MakePost("two", "rec.autos", 1926)};
  kiln::v1::ImportPostsResponse response;
  ASSERT_TRUE(Import({first}, response).ok());
  EXPECT_EQ(response.imported(), 2);

  // Same posts again plus one new; and a duplicate inside one batch.
  std::vector<kiln::v1::PostInput> again = first;
  again.push_back(MakePost("three", "rec.autos", 1927));
  kiln::v1::ImportPostsResponse second;
  ASSERT_TRUE(Import({again, {MakePost("three", "rec.autos", 1927)}}, second).ok());
  EXPECT_EQ(second.imported(), 1);
  EXPECT_EQ(second.skipped(), 3);
  EXPECT_EQ(second.rejected(), 0);

  // Same body in another year is another post.
  kiln::v1::ImportPostsResponse third;
  ASSERT_TRUE(Import({{MakePost("one", "rec.autos", 1990)}}, third).ok());
  EXPECT_EQ(third.imported(), 1);
}

// Fresh statistics after every import that stored posts, so that the
// planner does not take a grown table for an empty one (bench/scale).
TEST_F(DataServiceTest, AnImportRefreshesThePostsStatistics) {
  const auto analyzed_rows = [&] {
    pqxx::connection connection(database_uri());
    // -1 until the table is first analyzed; ANALYZE of a small table counts every row.
    return pqxx::nontransaction(connection)
        .exec1("SELECT reltuples FROM pg_class WHERE oid = 'data.posts'::regclass")[0]
        .as<double>();
  };
  EXPECT_LE(analyzed_rows(), 0);
  std::vector<kiln::v1::PostInput> posts;
  for (int i = 0; i < 30; ++i) posts.push_back(MakePost(absl::StrCat("post ", i), "sci.med", 1930));
  kiln::v1::ImportPostsResponse response;
  ASSERT_TRUE(Import({posts}, response).ok());
  ASSERT_EQ(response.imported(), 30);
  EXPECT_EQ(analyzed_rows(), 30);
}

TEST_F(DataServiceTest, QueryPagesByKeysetFiltersAndShards) {
  std::vector<kiln::v1::PostInput> posts;
  for (int i = 0; i < 25; ++i) {
    posts.push_back(MakePost("space post " + std::to_string(i), "sci.space", 1922 + i, "train/" + std::to_string(i)));
    posts.push_back(MakePost("med post " + std::to_string(i), "sci.med", 1990 + i % 10, "test/" + std::to_string(i)));
  }
  kiln::v1::ImportPostsResponse response;
  ASSERT_TRUE(Import({posts}, response).ok());
  ASSERT_EQ(response.imported(), 50);

  kiln::v1::QueryPostsRequest request;
  *request.mutable_dataset() = Dataset({"sci.space"}, 1922, 1953);
  request.set_page_size(4);
  int pages = 0;
  std::vector<kiln::v1::Post> space = Query(request, &pages);
  ASSERT_EQ(space.size(), 25u);
  EXPECT_EQ(pages, 7);
  for (size_t i = 1; i < space.size(); ++i) EXPECT_LT(space[i - 1].id(), space[i].id());
  for (const auto& post : space) {
    EXPECT_EQ(post.category(), "sci.space");
    EXPECT_EQ(post.content_hash().size(), 64u);
    EXPECT_FALSE(post.body().empty());
  }

  // Resume after an id, with a limit, without bodies.
  request.set_after_id(space[9].id());
  request.set_limit(5);
  request.set_omit_body(true);
  std::vector<kiln::v1::Post> resumed = Query(request);
  ASSERT_EQ(resumed.size(), 5u);
  EXPECT_EQ(resumed[0].id(), space[10].id());
  EXPECT_TRUE(resumed[0].body().empty());

  // Two year ranges; two shards cover everything exactly once.
  kiln::v1::QueryPostsRequest both;
  *both.mutable_dataset() = Dataset({"sci.space", "sci.med"}, 1922, 1930);
  auto* later = both.mutable_dataset()->add_years();
  later->set_first(1990);
  later->set_last(1994);
  const size_t all = Query(both).size();
  EXPECT_EQ(all, 9u + 15u);
  both.set_shard_count(2);
  both.set_shard_index(0);
  const size_t shard0 = Query(both).size();
  both.set_shard_index(1);
  const size_t shard1 = Query(both).size();
  EXPECT_EQ(shard0 + shard1, all);
  EXPECT_GT(shard0, 0u);

  // Source prefixes.
  kiln::v1::QueryPostsRequest by_source;
  *by_source.mutable_dataset() = Dataset({"sci.space", "sci.med"}, 1, 9999);
  by_source.mutable_dataset()->add_sources("test/");
  EXPECT_EQ(Query(by_source).size(), 25u);
}

// Whether the post is held out by a holdout of `fraction`, worked out here
// from the rule in common.proto, independently of the service's SQL.
bool HeldOutByRule(const kiln::v1::Post& post, double fraction) {
  const uint64_t prefix = std::stoull(post.content_hash().substr(0, 16), nullptr, 16);
  return static_cast<long double>(prefix) < static_cast<long double>(fraction) * 0x1p64L;
}

kiln::v1::DatasetSpec WithHoldout(kiln::v1::DatasetSpec dataset, double fraction,
                                  kiln::v1::HoldoutSide side) {
  dataset.mutable_holdout()->set_fraction(fraction);
  dataset.mutable_holdout()->set_side(side);
  return dataset;
}

// K10: a job's validation posts must be the same for every rank and every
// attempt, so the split may depend on nothing but a post's content: not on
// its id, the import order, the shard or the world size.
TEST_F(DataServiceTest, HoldoutSidesFollowTheContentHashWhateverTheIdsShardsOrImportOrder) {
  std::vector<kiln::v1::PostInput> posts;
  for (int i = 0; i < 400; ++i) {
    posts.push_back(MakePost("post number " + std::to_string(i),
                             i % 2 ? "sci.space" : "sci.med", 1922 + i % 30));
  }
  const kiln::v1::DatasetSpec all = Dataset({"sci.space", "sci.med"}, 1922, 1953);
  // The content hashes of each side, read the ways a job's ranks read them.
  auto side = [&](double fraction, kiln::v1::HoldoutSide which, int shard_count) {
    std::set<std::string> hashes;
    for (int shard = 0; shard < shard_count; ++shard) {
      kiln::v1::QueryPostsRequest request;
      *request.mutable_dataset() = WithHoldout(all, fraction, which);
      request.set_shard_count(shard_count);
      request.set_shard_index(shard);
      request.set_page_size(7);
      for (const auto& post : Query(request)) {
        EXPECT_EQ(HeldOutByRule(post, fraction), which == kiln::v1::HOLDOUT_SIDE_HELD_OUT)
            << post.content_hash() << " at fraction " << fraction;
        EXPECT_TRUE(hashes.insert(post.content_hash()).second) << "read twice";
      }
    }
    return hashes;
  };

  kiln::v1::ImportPostsResponse response;
  ASSERT_TRUE(Import({posts}, response).ok());
  ASSERT_EQ(response.imported(), 400);
  const std::set<std::string> held_out = side(0.1, kiln::v1::HOLDOUT_SIDE_HELD_OUT, 1);
  const std::set<std::string> rest = side(0.1, kiln::v1::HOLDOUT_SIDE_REST, 1);
  EXPECT_EQ(held_out.size() + rest.size(), 400u);
  for (const std::string& hash : held_out) EXPECT_EQ(rest.count(hash), 0u) << hash;
  // About a tenth (the mean is 40, the standard deviation 6).
  EXPECT_GE(held_out.size(), 20u);
  EXPECT_LE(held_out.size(), 60u);
  for (int shards : {2, 3, 5}) {
    EXPECT_EQ(side(0.1, kiln::v1::HOLDOUT_SIDE_HELD_OUT, shards), held_out) << shards;
    EXPECT_EQ(side(0.1, kiln::v1::HOLDOUT_SIDE_REST, shards), rest) << shards;
  }
  // A larger fraction holds out more and keeps what a smaller one held out.
  const std::set<std::string> wider = side(0.3, kiln::v1::HOLDOUT_SIDE_HELD_OUT, 1);
  EXPECT_GT(wider.size(), held_out.size());
  EXPECT_TRUE(std::includes(wider.begin(), wider.end(), held_out.begin(), held_out.end()));

  grpc::ClientContext count_context;
  PrepareContext(count_context, kReaderToken);
  kiln::v1::CountPostsRequest count;
  *count.mutable_dataset() = WithHoldout(all, 0.1, kiln::v1::HOLDOUT_SIDE_HELD_OUT);
  kiln::v1::CountPostsResponse counts;
  ASSERT_TRUE(stub_->CountPosts(&count_context, count, &counts).ok());
  EXPECT_EQ(counts.total(), static_cast<int64_t>(held_out.size()));

  // The same posts imported again in the opposite order get other ids.
  ASSERT_TRUE(db::RunInTransaction(*pool_, [](pqxx::work& tx) {
                tx.exec("DELETE FROM data.posts");
                return absl::OkStatus();
              }).ok());
  std::reverse(posts.begin(), posts.end());
  ASSERT_TRUE(Import({posts}, response).ok());
  ASSERT_EQ(response.imported(), 400);
  EXPECT_EQ(side(0.1, kiln::v1::HOLDOUT_SIDE_HELD_OUT, 1), held_out);
  EXPECT_EQ(side(0.1, kiln::v1::HOLDOUT_SIDE_REST, 4), rest);
}

TEST_F(DataServiceTest, CountsPerCategoryAndStats) {
  kiln::v1::ImportPostsResponse response;
  ASSERT_TRUE(Import({{MakePost("a", "sci.space", 1930, "20news-bydate-train/sci.space/1"),
                       MakePost("b", "sci.space", 1995, "20news-bydate-test/sci.space/2"),
                       MakePost("c", "sci.med", 1931, "20news-bydate-train/sci.med/3")}},
                     response)
                  .ok());
  grpc::ClientContext context;
  PrepareContext(context, kReaderToken);
  kiln::v1::CountPostsRequest request;
  *request.mutable_dataset() = Dataset({"sci.space", "sci.med", "rec.autos"}, 1922, 1953);
  kiln::v1::CountPostsResponse counts;
  ASSERT_TRUE(stub_->CountPosts(&context, request, &counts).ok());
  ASSERT_EQ(counts.categories_size(), 3);
  EXPECT_EQ(counts.categories(0).category(), "sci.space");
  EXPECT_EQ(counts.categories(0).count(), 1);
  EXPECT_EQ(counts.categories(1).count(), 1);
  EXPECT_EQ(counts.categories(2).count(), 0);
  EXPECT_EQ(counts.total(), 2);

  grpc::ClientContext stats_context;
  PrepareContext(stats_context, kReaderToken);
  kiln::v1::GetStatsResponse stats;
  ASSERT_TRUE(stub_->GetStats(&stats_context, {}, &stats).ok());
  EXPECT_EQ(stats.total(), 3);
  EXPECT_EQ(stats.min_year(), 1930);
  EXPECT_EQ(stats.max_year(), 1995);
  ASSERT_EQ(stats.sources_size(), 2);
  EXPECT_EQ(stats.sources(0).source(), "20news-bydate-test");
  EXPECT_EQ(stats.sources(1).count(), 2);
}

TEST_F(DataServiceTest, BadQueriesNameTheField) {
  kiln::v1::QueryPostsRequest request;
  *request.mutable_dataset() = Dataset({"sci.space"}, 1960, 1950);
  grpc::ClientContext context;
  PrepareContext(context, kReaderToken);
  auto reader = stub_->QueryPosts(&context, request);
  kiln::v1::QueryPostsResponse page;
  EXPECT_FALSE(reader->Read(&page));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("dataset.years[0]"), std::string::npos)
      << status.error_message();

  grpc::ClientContext count_context;
  PrepareContext(count_context, kReaderToken);
  kiln::v1::CountPostsRequest count;
  *count.mutable_dataset() = Dataset({"sci.space", "sci.space"}, 1, 2);
  kiln::v1::CountPostsResponse counts;
  status = stub_->CountPosts(&count_context, count, &counts);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("listed twice"), std::string::npos);

  const std::vector<std::pair<kiln::v1::DatasetSpec, std::string>> holdouts = {
      {WithHoldout(Dataset({"sci.space"}, 1, 2), 0, kiln::v1::HOLDOUT_SIDE_REST),
       "dataset.holdout.fraction is 0; allowed: (0, 1)"},
      {WithHoldout(Dataset({"sci.space"}, 1, 2), 1, kiln::v1::HOLDOUT_SIDE_HELD_OUT),
       "dataset.holdout.fraction is 1; allowed: (0, 1)"},
      {WithHoldout(Dataset({"sci.space"}, 1, 2), std::nan(""), kiln::v1::HOLDOUT_SIDE_REST),
       "dataset.holdout.fraction is nan"},
      {WithHoldout(Dataset({"sci.space"}, 1, 2), 0.1, kiln::v1::HOLDOUT_SIDE_UNSPECIFIED),
       "dataset.holdout.side must be"},
  };
  for (const auto& [dataset, expected] : holdouts) {
    grpc::ClientContext holdout_context;
    PrepareContext(holdout_context, kReaderToken);
    *count.mutable_dataset() = dataset;
    status = stub_->CountPosts(&holdout_context, count, &counts);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << expected;
    EXPECT_NE(status.error_message().find(expected), std::string::npos)
        << status.error_message() << " should mention " << expected;
  }
}

TEST_F(DataServiceTest, ImportNeedsAWriterToken) {
  kiln::v1::ImportPostsResponse response;
  EXPECT_EQ(Import({{MakePost("x", "a", 1)}}, response, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Import({{MakePost("x", "a", 1)}}, response, kReaderToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->Stats()->total(), 0);
}

}  // namespace
}  // namespace kiln::data
