// The preprocess service over real gRPC on loopback, reading posts from a
// real data service backed by a real PostgreSQL.
#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "kiln/v1/preprocess.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/db/migrations.h"
#include "services/common/server.h"
#include "services/data/data_migrations.h"
#include "services/data/data_service.h"
#include "services/preprocess/preprocess_migrations.h"
#include "services/preprocess/preprocess_service.h"
#include "services/text/encoder.h"
#include "services/text/tokenizer.h"
#include "tests/support/loopback_service.h"
#include "tests/support/postgres_environment.h"

namespace kiln::preprocess {
namespace {

using kiln::testing::kReaderToken;
using kiln::testing::kWriterToken;

struct Sample {
  const char* body;
  const char* category;
  int year;
};

const Sample kPosts[] = {
    {"The shuttle reached orbit; orbit insertion was nominal.", "sci.space", 1930},
    {"Orbit decay and the space station. Mail me at a@b.org", "sci.space", 1931},
    {"Migraine and headache: see the doctor about the headache.", "sci.med", 1932},
    {"The doctor said the migraine is not orbit related.", "sci.med", 1933},
    {"A test split post about orbit.", "sci.space", 1995},
};

kiln::v1::DatasetSpec TrainSpec() {
  kiln::v1::DatasetSpec spec;
  spec.add_categories("sci.space");
  spec.add_categories("sci.med");
  auto* years = spec.add_years();
  years->set_first(1922);
  years->set_last(1953);
  return spec;
}

class PreprocessServiceTest : public kiln::testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    pool_ = kiln::testing::MigratedPool(database_uri(), "data", data::Migrations());
    ASSERT_TRUE(pool_);
    ASSERT_TRUE(db::ApplyMigrations(*pool_, "preprocess", Migrations()).ok());

    post_store_ = std::make_unique<data::PostStore>(*pool_);
    data_service_ = std::make_unique<data::DataServiceImpl>(*post_store_);
    data_server_ = kiln::testing::StartLoopbackServer({data_service_.get()});
    ASSERT_TRUE(data_server_);

    data_client_ = std::make_unique<data::DataClient>(
        MakeChannel(kiln::testing::LoopbackAddress(*data_server_)), kReaderToken);
    vocabularies_ = std::make_unique<VocabularyStore>(*pool_);
    service_ = std::make_unique<PreprocessServiceImpl>(*vocabularies_, *data_client_);
    server_ = kiln::testing::StartLoopbackServer({service_.get()});
    ASSERT_TRUE(server_);
    stub_ = kiln::v1::PreprocessService::NewStub(MakeChannel(kiln::testing::LoopbackAddress(*server_)));

    std::vector<const kiln::v1::PostInput*> batch;
    for (const Sample& sample : kPosts) {
      inputs_.emplace_back();
      inputs_.back().set_body(sample.body);
      inputs_.back().set_category(sample.category);
      inputs_.back().set_year(sample.year);
    }
    for (const auto& input : inputs_) batch.push_back(&input);
    ASSERT_TRUE(post_store_->ImportBatch(batch).ok());
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    if (data_server_) data_server_->Shutdown(absl::Seconds(1));
    server_.reset();
    data_server_.reset();
    service_.reset();
    vocabularies_.reset();
    data_client_.reset();
    data_service_.reset();
    post_store_.reset();
    pool_.reset();
    PostgresTest::TearDown();
  }

  grpc::Status Build(int min_count, kiln::v1::Vocabulary& vocabulary,
                     const std::string& token = kWriterToken) {
    kiln::v1::BuildVocabularyRequest request;
    *request.mutable_dataset() = TrainSpec();
    request.mutable_options()->set_min_count(min_count);
    grpc::ClientContext context;
    PrepareContext(context, token, absl::Seconds(30));
    return stub_->BuildVocabulary(&context, request, &vocabulary);
  }

  std::vector<kiln::v1::PostInput> inputs_;
  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<data::PostStore> post_store_;
  std::unique_ptr<data::DataServiceImpl> data_service_;
  std::unique_ptr<GrpcServer> data_server_;
  std::unique_ptr<data::DataClient> data_client_;
  std::unique_ptr<VocabularyStore> vocabularies_;
  std::unique_ptr<PreprocessServiceImpl> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<kiln::v1::PreprocessService::Stub> stub_;
};

TEST_F(PreprocessServiceTest, BuildsTheSameVocabularyAsTheTextLibraryAndReusesIt) {
  kiln::v1::Vocabulary built;
  ASSERT_TRUE(Build(2, built).ok());
  EXPECT_EQ(built.post_count(), 4);
  EXPECT_EQ(built.spec_version(), "kiln-text-1");

  // The same vocabulary computed directly from the four training bodies.
  text::TokenCounter counter;
  text::Tokenizer tokenizer;
  for (int i = 0; i < 4; ++i) counter.Add(tokenizer.Tokenize(kPosts[i].body));
  auto expected = text::Vocabulary::Build(counter, {2, 0});
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(built.content_hash(), expected->sha256());
  EXPECT_EQ(built.size(), expected->size());

  kiln::v1::GetVocabularyRequest get;
  get.set_id(built.id());
  get.set_include_words(true);
  kiln::v1::Vocabulary with_words;
  grpc::ClientContext context;
  PrepareContext(context, kReaderToken);
  ASSERT_TRUE(stub_->GetVocabulary(&context, get, &with_words).ok());
  ASSERT_EQ(with_words.words_size() + 2, expected->size());
  for (int i = 0; i < with_words.words_size(); ++i) {
    EXPECT_EQ(with_words.words(i), expected->words()[i + 2]);
  }
  EXPECT_EQ(with_words.words(0), "the");  // 6 times, then "orbit" 4 times
  EXPECT_EQ(with_words.words(1), "orbit");

  kiln::v1::Vocabulary again;
  ASSERT_TRUE(Build(2, again).ok());
  EXPECT_EQ(again.id(), built.id());
  EXPECT_EQ(again.created_at().seconds(), built.created_at().seconds());

  kiln::v1::Vocabulary larger;
  ASSERT_TRUE(Build(1, larger).ok());
  EXPECT_NE(larger.id(), built.id());
  EXPECT_GT(larger.size(), built.size());
}

TEST_F(PreprocessServiceTest, EncodesEveryPostLikeTheTextLibraryInShards) {
  kiln::v1::Vocabulary built;
  ASSERT_TRUE(Build(1, built).ok());
  auto vocabulary = vocabularies_->Load(built.id());
  ASSERT_TRUE(vocabulary.ok()) << vocabulary.status();
  text::TextEncoder encoder(**vocabulary);

  std::map<int64_t, std::vector<int32_t>> rows;
  std::map<int64_t, int> shard_of;
  for (int shard = 0; shard < 2; ++shard) {
    kiln::v1::EncodeRequest request;
    *request.mutable_dataset() = TrainSpec();
    request.set_vocabulary_id(built.id());
    request.set_max_length(8);
    request.set_batch_size(1);
    request.set_shard_index(shard);
    request.set_shard_count(2);
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken);
    auto reader = stub_->Encode(&context, request);
    kiln::v1::EncodeResponse batch;
    while (reader->Read(&batch)) {
      ASSERT_EQ(batch.max_length(), 8);
      ASSERT_EQ(batch.ids_size(), 8 * batch.labels_size());
      for (int i = 0; i < batch.labels_size(); ++i) {
        EXPECT_EQ(rows.count(batch.post_ids(i)), 0u) << "post in two shards";
        rows[batch.post_ids(i)] = {batch.ids().begin() + 8 * i, batch.ids().begin() + 8 * (i + 1)};
        rows[batch.post_ids(i)].push_back(batch.labels(i));
        shard_of[batch.post_ids(i)] = shard;
      }
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  ASSERT_EQ(rows.size(), 4u);
  // Sharding is by position: the i-th post in id order goes to shard i % 2.
  int position = 0;
  for (const auto& [post_id, shard] : shard_of) EXPECT_EQ(shard, position++ % 2) << post_id;
  int index = 0;
  for (const auto& [post_id, row] : rows) {  // ids follow import order
    std::vector<int32_t> expected(8);
    encoder.Encode(kPosts[index].body, absl::MakeSpan(expected));
    expected.push_back(std::string(kPosts[index].category) == "sci.space" ? 0 : 1);
    EXPECT_EQ(row, expected) << "post " << post_id;
    ++index;
  }
}

TEST_F(PreprocessServiceTest, TokenizeShowsEachStage) {
  kiln::v1::Vocabulary built;
  ASSERT_TRUE(Build(1, built).ok());
  kiln::v1::TokenizeRequest request;
  request.set_text("Orbit, ORBIT and zebra!");
  request.set_vocabulary_id(built.id());
  request.set_max_length(5);
  kiln::v1::TokenizeResponse response;
  grpc::ClientContext context;
  PrepareContext(context, kReaderToken);
  ASSERT_TRUE(stub_->Tokenize(&context, request, &response).ok());
  EXPECT_EQ(response.cleaned(), "orbit orbit and zebra");
  ASSERT_EQ(response.tokens_size(), 4);
  ASSERT_EQ(response.ids_size(), 5);
  EXPECT_EQ(response.ids(0), response.ids(1));
  EXPECT_EQ(response.ids(3), 1);  // zebra: out of vocabulary
  EXPECT_EQ(response.ids(4), 0);  // padding
}

TEST_F(PreprocessServiceTest, RefusesBadRequestsWithPreciseCodes) {
  kiln::v1::Vocabulary vocabulary;
  EXPECT_EQ(Build(2, vocabulary, kReaderToken).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Build(-1, vocabulary).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  kiln::v1::BuildVocabularyRequest empty;
  empty.mutable_dataset()->add_categories("rec.autos");
  auto* years = empty.mutable_dataset()->add_years();
  years->set_first(1922);
  years->set_last(1953);
  grpc::ClientContext context;
  PrepareContext(context, kWriterToken);
  grpc::Status status = stub_->BuildVocabulary(&context, empty, &vocabulary);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("no posts"), std::string::npos);

  kiln::v1::EncodeRequest encode;
  *encode.mutable_dataset() = TrainSpec();
  encode.set_vocabulary_id("voc-unknown");
  encode.set_max_length(0);
  grpc::ClientContext encode_context;
  PrepareContext(encode_context, kReaderToken);
  auto reader = stub_->Encode(&encode_context, encode);
  kiln::v1::EncodeResponse batch;
  EXPECT_FALSE(reader->Read(&batch));
  status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("max_length"), std::string::npos);

  encode.set_max_length(16);
  grpc::ClientContext unknown_context;
  PrepareContext(unknown_context, kReaderToken);
  auto unknown = stub_->Encode(&unknown_context, encode);
  EXPECT_FALSE(unknown->Read(&batch));
  EXPECT_EQ(unknown->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace kiln::preprocess
