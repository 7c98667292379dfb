// The evaluation service over real gRPC on loopback, reading posts from a
// real data service backed by a real PostgreSQL: bundles uploaded through
// the client-streaming Evaluate RPC (or fetched as a registry version),
// scored, stored and read back. The bundle is a tiny model trained here on
// the posts of the training years.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "google/protobuf/util/message_differencer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kiln/v1/evaluation.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/db/migrations.h"
#include "services/common/server.h"
#include "services/common/sha256.h"
#include "services/data/data_client.h"
#include "services/data/data_migrations.h"
#include "services/data/data_service.h"
#include "services/evaluation/evaluation_migrations.h"
#include "services/evaluation/evaluation_service.h"
#include "services/evaluation/metrics.h"
#include "services/evaluation/report_store.h"
#include "services/model/bundle_reader.h"
#include "services/model/bundle_writer.h"
#include "services/model/predict.h"
#include "services/model/trainer.h"
#include "services/text/encoder.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"
#include "tests/support/loopback_service.h"
#include "tests/support/postgres_environment.h"

namespace kiln::evaluation {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

using kiln::testing::kReaderToken;
using kiln::testing::kWriterToken;

const std::vector<std::string> kClasses = {"sci.space", "sci.med", "rec.autos", "rec.sport.hockey",
                                           "talk.politics.guns"};
constexpr int kFirstTestYear = 1990;

struct Sample {
  const char* body;
  const char* category;
  int year;
};

// Training years (the tiny model learns from these), test years (scored),
// and a category outside the bundle's classes.
const Sample kPosts[] = {
    {"nasa launched the shuttle into orbit", "sci.space", 1930},
    {"the moon orbit and the space station", "sci.space", 1931},
    {"a space probe in orbit around the planet", "sci.space", 1932},
    {"the doctor treats migraine and headache", "sci.med", 1930},
    {"health clinic, doctor and patients", "sci.med", 1931},
    {"medicine for the headache: ask the doctor", "sci.med", 1932},
    {"my car engine needs oil", "rec.autos", 1930},
    {"the car dealer sold an engine", "rec.autos", 1931},
    {"brakes and tires for the car", "rec.autos", 1932},
    {"the hockey team won the game", "rec.sport.hockey", 1930},
    {"the goalie saves in the hockey playoff", "rec.sport.hockey", 1931},
    {"the team lost the game on ice", "rec.sport.hockey", 1932},
    {"gun control law and the rifle", "talk.politics.guns", 1930},
    {"the second amendment and gun owners", "talk.politics.guns", 1931},
    {"rifle and handgun law", "talk.politics.guns", 1932},

    {"The shuttle reached orbit; NASA and the moon.", "sci.space", 1995},
    {"Space station orbit", "sci.space", 1996},
    {"The doctor said migraine is a health issue", "sci.med", 1995},
    {"Headache medicine", "sci.med", 1998},
    {"Car engine oil and tires", "rec.autos", 1995},
    {"the dealer's car", "rec.autos", 1999},
    {"Hockey game and the goalie", "rec.sport.hockey", 1995},
    {"team playoff on ice", "rec.sport.hockey", 1997},
    {"gun law: rifle", "talk.politics.guns", 1995},
    {"handgun owners and the amendment", "talk.politics.guns", 2000},
    {"the car doctor at the hockey game", "sci.med", 1996},
    {"zyzzyva quux", "rec.autos", 1996},

    {"video card and the game engine", "comp.graphics", 1995},
};
constexpr int kTestPosts = 12;

kiln::v1::DatasetSpec TestSpec(std::vector<std::string> categories = kClasses) {
  kiln::v1::DatasetSpec spec;
  for (const std::string& category : categories) spec.add_categories(category);
  auto* years = spec.add_years();
  years->set_first(kFirstTestYear);
  years->set_last(2000);
  return spec;
}

int32_t LabelOf(const Sample& sample) {
  const auto label = std::find(kClasses.begin(), kClasses.end(), sample.category);
  return label == kClasses.end() ? -1 : static_cast<int32_t>(label - kClasses.begin());
}

// A tiny model trained on the training years, so that its predictions follow
// the words and a wrongly encoded post shows in the figures.
model::BundleFiles MakeBundleFiles() {
  constexpr int kMaxLength = 12;
  text::Tokenizer tokenizer;
  text::TokenCounter counter;
  std::vector<const Sample*> train;
  for (const Sample& sample : kPosts) {
    if (sample.year >= kFirstTestYear || LabelOf(sample) < 0) continue;
    train.push_back(&sample);
    counter.Add(tokenizer.Tokenize(sample.body));
  }
  auto vocabulary = text::Vocabulary::Build(counter, {});
  EXPECT_TRUE(vocabulary.ok()) << vocabulary.status();
  if (!vocabulary.ok()) return {};
  text::TextEncoder encoder(*vocabulary);
  model::Examples examples;
  examples.ids.resize(train.size() * kMaxLength);
  for (size_t i = 0; i < train.size(); ++i) {
    encoder.Encode(train[i]->body, absl::MakeSpan(examples.ids.data() + i * kMaxLength, kMaxLength));
    examples.labels.push_back(LabelOf(*train[i]));
  }
  model::ModelShape shape;
  shape.vocab_size = vocabulary->size();
  shape.max_length = kMaxLength;
  shape.embedding_dim = 8;
  shape.hidden_units = 8;
  shape.num_classes = static_cast<int>(kClasses.size());
  model::TrainingOptions options;
  options.epochs = 60;
  options.batch_size = 5;
  options.learning_rate = 0.05f;
  auto trainer = model::Trainer::Create(shape, options, std::move(examples));
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  if (!trainer.ok()) return {};
  while (!(*trainer)->done()) {
    auto epoch = (*trainer)->RunEpoch();
    EXPECT_TRUE(epoch.ok()) << epoch.status();
    if (!epoch.ok()) return {};
  }
  auto files =
      model::WriteBundle((*trainer)->ExportWeights(), kClasses, *vocabulary, model::BundleMetadata{});
  EXPECT_TRUE(files.ok()) << files.status();
  return files.ok() ? *std::move(files) : model::BundleFiles{};
}

std::string ShardName(const model::BundleFiles& files) {
  for (const auto& [path, content] : files) {
    if (absl::EndsWith(path, ".bin")) return path;
  }
  return "";
}

class EvaluationServiceTest : public kiln::testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    pool_ = kiln::testing::MigratedPool(database_uri(), "data", data::Migrations());
    ASSERT_TRUE(pool_);
    ASSERT_TRUE(db::ApplyMigrations(*pool_, "evaluation", Migrations()).ok());

    post_store_ = std::make_unique<data::PostStore>(*pool_);
    data_service_ = std::make_unique<data::DataServiceImpl>(*post_store_);
    data_server_ = kiln::testing::StartLoopbackServer({data_service_.get()});
    ASSERT_TRUE(data_server_);
    data_client_ = std::make_unique<data::DataClient>(
        MakeChannel(kiln::testing::LoopbackAddress(*data_server_)), kReaderToken);

    files_ = MakeBundleFiles();
    reports_ = std::make_unique<ReportStore>(*pool_);
    // Stands in for the registry: one published version, news:3.
    service_ = std::make_unique<EvaluationServiceImpl>(
        *reports_, *data_client_,
        [this](const kiln::v1::VersionRef& ref) -> absl::StatusOr<FetchedVersion> {
          ++fetches_;
          const bool three = ref.version() == 3 || ref.alias() == "production";
          if (ref.model() == "news" && three) return FetchedVersion{3, files_};
          return absl::NotFoundError("no such version");
        });
    server_ = kiln::testing::StartLoopbackServer({service_.get()});
    ASSERT_TRUE(server_);
    stub_ = kiln::v1::EvaluationService::NewStub(MakeChannel(kiln::testing::LoopbackAddress(*server_)));

    std::vector<kiln::v1::PostInput> inputs;
    for (const Sample& sample : kPosts) {
      inputs.emplace_back();
      inputs.back().set_body(sample.body);
      inputs.back().set_category(sample.category);
      inputs.back().set_year(sample.year);
    }
    std::vector<const kiln::v1::PostInput*> batch;
    for (const auto& input : inputs) batch.push_back(&input);
    ASSERT_TRUE(post_store_->ImportBatch(batch).ok());
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    if (data_server_) data_server_->Shutdown(absl::Seconds(1));
    server_.reset();
    data_server_.reset();
    service_.reset();
    reports_.reset();
    data_client_.reset();
    data_service_.reset();
    post_store_.reset();
    pool_.reset();
    PostgresTest::TearDown();
  }

  // Streams the header (unless `send_header` is false) and then every file
  // in chunks of `chunk_size` bytes.
  grpc::Status Evaluate(const kiln::v1::EvaluateHeader& header, const model::BundleFiles& files,
                        kiln::v1::EvaluationReport& report,
                        const std::string& token = kWriterToken, bool send_header = true,
                        size_t chunk_size = 1000) {
    grpc::ClientContext context;
    PrepareContext(context, token, absl::Seconds(30));
    auto writer = stub_->Evaluate(&context, &report);
    bool open = true;
    if (send_header) {
      kiln::v1::EvaluateRequest request;
      *request.mutable_header() = header;
      open = writer->Write(request);
    }
    for (auto file = files.begin(); open && file != files.end(); ++file) {
      for (size_t offset = 0; open && offset < file->second.size(); offset += chunk_size) {
        kiln::v1::EvaluateRequest request;
        request.mutable_file()->set_path(file->first);
        request.mutable_file()->set_offset(static_cast<int64_t>(offset));
        request.mutable_file()->set_data(file->second.substr(offset, chunk_size));
        open = writer->Write(request);
      }
    }
    writer->WritesDone();
    return writer->Finish();
  }

  grpc::Status List(const kiln::v1::ListReportsRequest& request,
                    kiln::v1::ListReportsResponse& response) {
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken, absl::Seconds(30));
    return stub_->ListReports(&context, request, &response);
  }

  std::vector<std::string> ListIds(const kiln::v1::ListReportsRequest& request) {
    kiln::v1::ListReportsResponse response;
    grpc::Status status = List(request, response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const auto& report : response.reports()) ids.push_back(report.id());
    return ids;
  }

  // What the report must hold, computed here without the service: the
  // dataset's posts encoded with the bundle's vocabulary, model::Predict over
  // the bundle as read back.
  kiln::v1::EvaluationReport ExpectedFigures() {
    absl::StatusOr<model::Bundle> bundle = model::ReadBundle(files_);
    EXPECT_TRUE(bundle.ok()) << bundle.status();
    if (!bundle.ok()) return {};
    const int max_length = bundle->weights.shape.max_length;
    text::TextEncoder encoder(bundle->vocabulary);
    std::vector<int32_t> ids, labels;
    for (const Sample& sample : kPosts) {
      if (LabelOf(sample) < 0 || sample.year < kFirstTestYear) continue;
      labels.push_back(LabelOf(sample));
      ids.resize(ids.size() + max_length);
      encoder.Encode(sample.body, absl::MakeSpan(ids.data() + ids.size() - max_length, max_length));
    }
    absl::StatusOr<std::vector<float>> probabilities = model::Predict(bundle->weights, ids);
    EXPECT_TRUE(probabilities.ok()) << probabilities.status();
    MetricsAccumulator metrics(kClasses);
    if (probabilities.ok()) metrics.Add(*probabilities, labels);
    kiln::v1::EvaluationReport expected;
    metrics.Fill(expected);
    return expected;
  }

  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<data::PostStore> post_store_;
  std::unique_ptr<data::DataServiceImpl> data_service_;
  std::unique_ptr<GrpcServer> data_server_;
  std::unique_ptr<data::DataClient> data_client_;
  std::unique_ptr<ReportStore> reports_;
  std::unique_ptr<EvaluationServiceImpl> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<kiln::v1::EvaluationService::Stub> stub_;
  model::BundleFiles files_;
  int fetches_ = 0;
};

TEST_F(EvaluationServiceTest, ScoresAnUploadedBundleOnTheDatasetsPosts) {
  kiln::v1::EvaluateHeader header;
  *header.mutable_dataset() = TestSpec();
  header.set_job_id("job-1");
  kiln::v1::EvaluationReport report;
  grpc::Status status = Evaluate(header, files_, report);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Test years and the bundle's classes only: not the 1930 post, not
  // comp.graphics.
  EXPECT_EQ(report.post_count(), kTestPosts);
  const kiln::v1::EvaluationReport expected = ExpectedFigures();
  ASSERT_EQ(expected.post_count(), kTestPosts);
  // The model follows the words: most test posts are right, so the figures
  // depend on every post being encoded with the bundle's vocabulary.
  EXPECT_GE(report.recall_at_1(), 0.75);
  EXPECT_EQ(report.recall_at_1(), expected.recall_at_1());
  EXPECT_EQ(report.recall_at_3(), expected.recall_at_3());
  EXPECT_EQ(report.recall_at_5(), expected.recall_at_5());
  EXPECT_EQ(report.accuracy(), expected.accuracy());
  EXPECT_THAT(report.confusion_matrix(), ElementsAreArray(expected.confusion_matrix()));
  ASSERT_EQ(report.classes_size(), static_cast<int>(kClasses.size()));
  for (int c = 0; c < report.classes_size(); ++c) {
    EXPECT_TRUE(MessageDifferencer::Equals(report.classes(c), expected.classes(c)))
        << report.classes(c).DebugString() << " vs " << expected.classes(c).DebugString();
  }
  EXPECT_TRUE(MessageDifferencer::Equals(report.dataset(), header.dataset()));
  EXPECT_EQ(report.job_id(), "job-1");
  EXPECT_EQ(report.bundle_sha256(), Sha256Hex(files_.at("manifest.json")));
  EXPECT_EQ(report.model(), "");
  EXPECT_EQ(report.version(), 0);
  EXPECT_THAT(report.id(), ::testing::StartsWith("eval-"));
  EXPECT_GT(report.created_at().seconds(), 0);
  EXPECT_EQ(fetches_, 0);
}

TEST_F(EvaluationServiceTest, ReportsAreStoredAndReadByIdByJobAndByVersion) {
  kiln::v1::EvaluateHeader header;
  *header.mutable_dataset() = TestSpec();
  header.set_job_id("job-1");
  kiln::v1::EvaluationReport first, second;
  ASSERT_TRUE(Evaluate(header, files_, first).ok());
  header.set_job_id("job-2");
  ASSERT_TRUE(Evaluate(header, files_, second).ok());
  ASSERT_NE(first.id(), second.id());

  {
    kiln::v1::GetReportRequest request;
    request.set_id(first.id());
    kiln::v1::EvaluationReport stored;
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken, absl::Seconds(30));
    ASSERT_TRUE(stub_->GetReport(&context, request, &stored).ok());
    EXPECT_TRUE(MessageDifferencer::Equals(stored, first))
        << stored.DebugString() << " vs " << first.DebugString();
  }
  {
    kiln::v1::GetReportRequest request;
    request.set_id("eval-999999");
    kiln::v1::EvaluationReport stored;
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken, absl::Seconds(30));
    EXPECT_EQ(stub_->GetReport(&context, request, &stored).error_code(), grpc::StatusCode::NOT_FOUND);
  }

  kiln::v1::ListReportsRequest by_job;
  by_job.set_job_id("job-1");
  EXPECT_THAT(ListIds(by_job), ElementsAreArray({first.id()}));
  by_job.set_job_id("job-2");
  EXPECT_THAT(ListIds(by_job), ElementsAreArray({second.id()}));
  // Newest first.
  EXPECT_THAT(ListIds({}), ElementsAreArray({second.id(), first.id()}));

  kiln::v1::ListReportsRequest by_version;
  by_version.set_model("news");
  by_version.set_version(7);
  EXPECT_THAT(ListIds(by_version), ::testing::IsEmpty());

  kiln::v1::LinkReportRequest link;
  link.set_report_id(first.id());
  link.set_model("news");
  link.set_version(7);
  kiln::v1::EvaluationReport linked;
  {
    grpc::ClientContext context;
    PrepareContext(context, kWriterToken, absl::Seconds(30));
    grpc::Status status = stub_->LinkReport(&context, link, &linked);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(linked.id(), first.id());
  EXPECT_EQ(linked.model(), "news");
  EXPECT_EQ(linked.version(), 7);
  EXPECT_EQ(linked.recall_at_1(), first.recall_at_1());
  EXPECT_THAT(ListIds(by_version), ElementsAreArray({first.id()}));
  by_version.set_version(8);
  EXPECT_THAT(ListIds(by_version), ::testing::IsEmpty());

  kiln::v1::ListReportsRequest by_bundle;
  by_bundle.set_bundle_sha256(first.bundle_sha256());
  EXPECT_THAT(ListIds(by_bundle), ElementsAreArray({second.id(), first.id()}));
}

TEST_F(EvaluationServiceTest, ScoresAPublishedVersionThroughTheFetcher) {
  kiln::v1::EvaluateHeader header;
  *header.mutable_dataset() = TestSpec();
  header.mutable_version()->set_model("news");
  header.mutable_version()->set_version(3);
  kiln::v1::EvaluationReport report;
  grpc::Status status = Evaluate(header, {}, report);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(report.model(), "news");
  EXPECT_EQ(report.version(), 3);
  EXPECT_EQ(report.post_count(), kTestPosts);
  EXPECT_EQ(report.recall_at_1(), ExpectedFigures().recall_at_1());

  kiln::v1::ListReportsRequest by_version;
  by_version.set_model("news");
  by_version.set_version(3);
  EXPECT_THAT(ListIds(by_version), ElementsAreArray({report.id()}));

  // An alias is stored as the version it resolved to.
  header.mutable_version()->set_alias("production");
  kiln::v1::EvaluationReport by_alias;
  ASSERT_TRUE(Evaluate(header, {}, by_alias).ok());
  EXPECT_EQ(by_alias.version(), 3);

  // The fetcher's error reaches the caller.
  header.mutable_version()->set_version(4);
  EXPECT_EQ(Evaluate(header, {}, report).error_code(), grpc::StatusCode::NOT_FOUND);
  // Files and a version at once are ambiguous.
  header.mutable_version()->set_version(3);
  EXPECT_EQ(Evaluate(header, files_, report).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(EvaluationServiceTest, RefusesBadRequestsAndStoresNothing) {
  kiln::v1::EvaluateHeader header;
  *header.mutable_dataset() = TestSpec();
  kiln::v1::EvaluationReport report;

  {
    SCOPED_TRACE("dataset categories in another order than the bundle's classes");
    kiln::v1::EvaluateHeader reordered = header;
    *reordered.mutable_dataset() =
        TestSpec({"sci.med", "sci.space", "rec.autos", "rec.sport.hockey", "talk.politics.guns"});
    grpc::Status status = Evaluate(reordered, files_, report);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("sci.space, sci.med, rec.autos, rec.sport.hockey, talk.politics.guns"));
  }
  {
    SCOPED_TRACE("a category fewer than the bundle's classes");
    kiln::v1::EvaluateHeader fewer = header;
    *fewer.mutable_dataset() = TestSpec({"sci.space", "sci.med", "rec.autos", "rec.sport.hockey"});
    EXPECT_EQ(Evaluate(fewer, files_, report).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    SCOPED_TRACE("a shard whose bytes do not match the manifest's sha256");
    model::BundleFiles corrupted = files_;
    const std::string shard = ShardName(corrupted);
    ASSERT_FALSE(shard.empty());
    corrupted[shard][10] ^= 0x01;
    grpc::Status status = Evaluate(header, corrupted, report);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS);
    EXPECT_THAT(status.error_message(), HasSubstr(shard));
  }
  {
    SCOPED_TRACE("a file the manifest lists is missing");
    model::BundleFiles missing = files_;
    missing.erase("vocab.json");
    grpc::Status status = Evaluate(header, missing, report);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("vocab.json"));
  }
  {
    SCOPED_TRACE("files without a header");
    grpc::Status status = Evaluate(header, files_, report, kWriterToken, /*send_header=*/false);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("header"));
  }
  {
    SCOPED_TRACE("a header and no bundle");
    EXPECT_EQ(Evaluate(header, {}, report).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    SCOPED_TRACE("a reader may not evaluate");
    EXPECT_EQ(Evaluate(header, files_, report, kReaderToken).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    SCOPED_TRACE("no token at all");
    EXPECT_EQ(Evaluate(header, files_, report, "").error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_THAT(ListIds({}), ::testing::IsEmpty());
  EXPECT_EQ(fetches_, 0);

  // The same request with a writer's token and intact files succeeds.
  grpc::Status status = Evaluate(header, files_, report);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(EvaluationServiceTest, ReassemblesFilesWhateverTheChunkSize) {
  kiln::v1::EvaluateHeader header;
  *header.mutable_dataset() = TestSpec();
  kiln::v1::EvaluationReport whole, pieces;
  ASSERT_TRUE(Evaluate(header, files_, whole, kWriterToken, true, size_t{1} << 20).ok());
  // 7 bytes: chunks that split UTF-8, JSON tokens and floats anywhere.
  grpc::Status status = Evaluate(header, files_, pieces, kWriterToken, true, 7);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(pieces.bundle_sha256(), whole.bundle_sha256());
  EXPECT_EQ(pieces.recall_at_1(), whole.recall_at_1());
  EXPECT_THAT(pieces.confusion_matrix(), ElementsAreArray(whole.confusion_matrix()));
}

}  // namespace
}  // namespace kiln::evaluation
