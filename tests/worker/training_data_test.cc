// A job's training and validation data as its worker ranks fetch them, from
// a real preprocess service reading a real data service over loopback, with
// a real PostgreSQL behind.
#include "services/worker/training_data.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/client.h"
#include "services/common/db/migrations.h"
#include "services/common/db/transaction.h"
#include "services/common/server.h"
#include "services/data/data_client.h"
#include "services/data/data_migrations.h"
#include "services/data/data_service.h"
#include "services/preprocess/preprocess_migrations.h"
#include "services/preprocess/preprocess_service.h"
#include "tests/support/loopback_service.h"
#include "tests/support/postgres_environment.h"

namespace kiln::worker {
namespace {

using kiln::testing::kReaderToken;
using kiln::testing::kWriterToken;

const std::vector<std::string> kTopics = {"sci.space", "sci.med", "rec.autos", "comp.graphics"};
constexpr int kTrainingPosts = 300;

// Every post has a word no other post has: the vocabulary then shows which
// posts it was built from.
std::string UniqueWord(int i) { return "word" + std::to_string(i) + "x"; }

std::vector<kiln::v1::PostInput> Posts() {
  std::vector<kiln::v1::PostInput> posts;
  for (int i = 0; i < kTrainingPosts + 20; ++i) {
    kiln::v1::PostInput post;
    const std::string& topic = kTopics[i % kTopics.size()];
    post.set_category(topic);
    post.set_body("about " + topic + " " + UniqueWord(i) + " and more");
    // The last 20 are test-split posts.
    post.set_year(i < kTrainingPosts ? 1922 + i % 30 : 1995);
    posts.push_back(post);
  }
  return posts;
}

kiln::v1::JobSpec Spec(double validation_fraction) {
  kiln::v1::JobSpec spec;
  for (const std::string& topic : kTopics) spec.add_topics(topic);
  auto* train = spec.add_train_years();
  train->set_first(1922);
  train->set_last(1953);
  auto* test = spec.add_test_years();
  test->set_first(1990);
  test->set_last(2000);
  spec.mutable_vocabulary()->set_min_count(1);
  spec.set_max_length(8);
  spec.set_validation_fraction(validation_fraction);
  return spec;
}

// Rows as (ids..., label), to compare sets of examples whatever their order.
std::vector<std::vector<int32_t>> Rows(const model::Examples& examples, int max_length) {
  std::vector<std::vector<int32_t>> rows;
  for (int64_t i = 0; i < examples.size(); ++i) {
    std::vector<int32_t> row(examples.ids.begin() + i * max_length,
                             examples.ids.begin() + (i + 1) * max_length);
    row.push_back(examples.labels[i]);
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

class TrainingDataTest : public kiln::testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    pool_ = kiln::testing::MigratedPool(database_uri(), "data", data::Migrations());
    ASSERT_TRUE(pool_);
    ASSERT_TRUE(db::ApplyMigrations(*pool_, "preprocess", preprocess::Migrations()).ok());
    post_store_ = std::make_unique<data::PostStore>(*pool_);
    data_service_ = std::make_unique<data::DataServiceImpl>(*post_store_);
    data_server_ = kiln::testing::StartLoopbackServer({data_service_.get()});
    ASSERT_TRUE(data_server_);
    data_stub_ =
        kiln::v1::DataService::NewStub(MakeChannel(kiln::testing::LoopbackAddress(*data_server_)));
    data_client_ = std::make_unique<data::DataClient>(
        MakeChannel(kiln::testing::LoopbackAddress(*data_server_)), kReaderToken);
    vocabularies_ = std::make_unique<preprocess::VocabularyStore>(*pool_);
    service_ = std::make_unique<preprocess::PreprocessServiceImpl>(*vocabularies_, *data_client_);
    server_ = kiln::testing::StartLoopbackServer({service_.get()});
    ASSERT_TRUE(server_);
    stub_ = kiln::v1::PreprocessService::NewStub(
        MakeChannel(kiln::testing::LoopbackAddress(*server_)));
    Import(Posts());
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    if (data_server_) data_server_->Shutdown(absl::Seconds(1));
    server_.reset();
    data_server_.reset();
    service_.reset();
    vocabularies_.reset();
    data_client_.reset();
    data_stub_.reset();
    data_service_.reset();
    post_store_.reset();
    pool_.reset();
    PostgresTest::TearDown();
  }

  void Import(const std::vector<kiln::v1::PostInput>& posts) {
    std::vector<const kiln::v1::PostInput*> batch;
    for (const auto& post : posts) batch.push_back(&post);
    ASSERT_TRUE(post_store_->ImportBatch(batch).ok());
  }

  // The unique words of the posts of `dataset`, read straight from the data
  // service.
  std::set<std::string> UniqueWordsOf(const kiln::v1::DatasetSpec& dataset) {
    std::set<std::string> words;
    kiln::v1::QueryPostsRequest request;
    *request.mutable_dataset() = dataset;
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken, absl::Seconds(30));
    auto reader = data_stub_->QueryPosts(&context, request);
    kiln::v1::QueryPostsResponse page;
    while (reader->Read(&page)) {
      for (const auto& post : page.posts()) {
        const size_t at = post.body().find("word");
        words.insert(post.body().substr(at, post.body().find(' ', at) - at));
      }
    }
    EXPECT_TRUE(reader->Finish().ok());
    return words;
  }

  std::set<std::string> VocabularyWords(const std::string& id) {
    const text::Vocabulary vocabulary = FetchVocabulary(*stub_, kReaderToken, id).value();
    return std::set<std::string>(vocabulary.words().begin(), vocabulary.words().end());
  }

  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<data::PostStore> post_store_;
  std::unique_ptr<data::DataServiceImpl> data_service_;
  std::unique_ptr<GrpcServer> data_server_;
  std::unique_ptr<kiln::v1::DataService::Stub> data_stub_;
  std::unique_ptr<data::DataClient> data_client_;
  std::unique_ptr<preprocess::VocabularyStore> vocabularies_;
  std::unique_ptr<preprocess::PreprocessServiceImpl> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<kiln::v1::PreprocessService::Stub> stub_;
};

// K10: every rank of every world size validates on the same posts, none of
// them is ever trained on, and nothing built from the training split (the
// vocabulary) has seen them.
TEST_F(TrainingDataTest, ValidationPostsAreTheSameOnEveryRankAndNeverTrainedOn) {
  const kiln::v1::JobSpec spec = Spec(0.2);
  const kiln::v1::Vocabulary vocabulary = BuildVocabulary(*stub_, kWriterToken, spec).value();
  const model::Examples validation =
      FetchValidationExamples(*stub_, kReaderToken, spec, vocabulary.id()).value();
  const int64_t held_out = validation.size();
  // About a fifth of 300 (the standard deviation is 7).
  EXPECT_GE(held_out, 30);
  EXPECT_LE(held_out, 90);
  EXPECT_EQ(vocabulary.post_count(), kTrainingPosts - held_out);

  const std::set<std::string> validation_words = UniqueWordsOf(ValidationDataset(spec));
  const std::set<std::string> training_words = UniqueWordsOf(TrainDataset(spec));
  EXPECT_EQ(static_cast<int64_t>(validation_words.size()), held_out);
  EXPECT_EQ(training_words.size() + validation_words.size(), static_cast<size_t>(kTrainingPosts));
  const std::set<std::string> words = VocabularyWords(vocabulary.id());
  for (const std::string& word : validation_words) EXPECT_EQ(words.count(word), 0u) << word;
  for (const std::string& word : training_words) EXPECT_EQ(words.count(word), 1u) << word;

  // A validation post's unique word is out of the vocabulary (id 1), a
  // training post's never is: no training row can be a validation post's.
  const int length = spec.max_length();
  for (const auto& row : Rows(validation, length)) {
    EXPECT_EQ(std::count(row.begin(), row.end() - 1, 1), 1) << "one unknown word per post";
  }
  for (int world_size = 1; world_size <= 3; ++world_size) {
    int64_t trained = 0;
    for (int rank = 0; rank < world_size; ++rank) {
      const model::Examples shard =
          FetchExamples(*stub_, kReaderToken, spec, vocabulary.id(), rank, world_size).value();
      for (const auto& row : Rows(shard, length)) {
        EXPECT_EQ(std::count(row.begin(), row.end() - 1, 1), 0) << "a validation post trains";
      }
      trained += shard.size();
      // The validation set every rank scores is the whole one, unsharded.
      EXPECT_EQ(Rows(FetchValidationExamples(*stub_, kReaderToken, spec, vocabulary.id()).value(),
                     length),
                Rows(validation, length));
    }
    EXPECT_EQ(trained + held_out, kTrainingPosts) << "world size " << world_size;
  }
}

// K10: another attempt, even after the posts were imported again in another
// order (other ids), validates on the same posts with the same vocabulary.
TEST_F(TrainingDataTest, AReimportInAnotherOrderKeepsTheSplitAndTheVocabulary) {
  const kiln::v1::JobSpec spec = Spec(0.2);
  const kiln::v1::Vocabulary before = BuildVocabulary(*stub_, kWriterToken, spec).value();
  const auto validation_before = Rows(
      FetchValidationExamples(*stub_, kReaderToken, spec, before.id()).value(), spec.max_length());
  ASSERT_TRUE(db::RunInTransaction(*pool_, [](pqxx::work& tx) {
                tx.exec("DELETE FROM data.posts");
                return absl::OkStatus();
              }).ok());
  std::vector<kiln::v1::PostInput> reversed = Posts();
  std::reverse(reversed.begin(), reversed.end());
  Import(reversed);
  const kiln::v1::Vocabulary after = BuildVocabulary(*stub_, kWriterToken, spec).value();
  EXPECT_EQ(after.id(), before.id());
  EXPECT_EQ(Rows(FetchValidationExamples(*stub_, kReaderToken, spec, after.id()).value(),
                 spec.max_length()),
            validation_before);
}

TEST_F(TrainingDataTest, WithoutValidationTheWholeTrainingSplitTrains) {
  const kiln::v1::JobSpec spec = Spec(0);
  EXPECT_FALSE(TrainDataset(spec).has_holdout());
  const kiln::v1::Vocabulary vocabulary = BuildVocabulary(*stub_, kWriterToken, spec).value();
  EXPECT_EQ(vocabulary.post_count(), kTrainingPosts);
  EXPECT_EQ(FetchValidationExamples(*stub_, kReaderToken, spec, vocabulary.id()).value().size(),
            0);
  EXPECT_EQ(FetchExamples(*stub_, kReaderToken, spec, vocabulary.id(), 0, 1).value().size(),
            kTrainingPosts);
}

}  // namespace
}  // namespace kiln::worker
