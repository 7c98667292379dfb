// WriteBundle -> ReadBundle for each weight encoding and pooling, shard
// splitting, determinism, and the bundle's files themselves.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/sha256.h"
#include "services/model/bundle_files.h"
#include "services/model/bundle_manifest.h"
#include "services/model/bundle_reader.h"
#include "services/model/bundle_writer.h"
#include "services/model/idf_file.h"
#include "services/model/padding_fold.h"
#include "services/model/tfjs_weights.h"
#include "services/text/spec.h"
#include "tests/model/bundle_test_model.h"
#include "tests/model/reference_forward.h"

namespace kiln::model {
namespace {

ModelShape SmallShape(Pooling pooling = Pooling::kGlobalAverage) {
  ModelShape shape;
  shape.vocab_size = 300;
  shape.max_length = 12;
  shape.embedding_dim = 8;
  shape.hidden_units = 6;
  shape.num_classes = 4;
  shape.pooling = pooling;
  return shape;
}

BundleMetadata Metadata(WeightEncoding encoding) {
  BundleMetadata metadata;
  metadata.weight_encoding = encoding;
  metadata.metrics = {{"recall@1", 0.8125}, {"accuracy", 0.75}};
  metadata.lineage = {{"job", "job-42"}, {"dataset", {{"train_years", {1922, 1953}}}}};
  return metadata;
}

// What a tensor should read back as: exact for float32, the float16
// rounding for float16, within half a quantization step for uint8.
void ExpectDecodedFrom(const std::vector<float>& original, const std::vector<float>& decoded,
                       WeightEncoding encoding, const char* tensor) {
  ASSERT_EQ(original.size(), decoded.size()) << tensor;
  if (encoding == WeightEncoding::kFloat32) {
    EXPECT_EQ(original, decoded) << tensor;
    return;
  }
  const auto [low, high] = std::minmax_element(original.begin(), original.end());
  // 254 rather than 255 steps: putting 0 on a code may widen the step.
  const float half_step = (*high - *low) / 254.0f / 2.0f * 1.0001f;
  for (size_t i = 0; i < original.size(); ++i) {
    if (encoding == WeightEncoding::kFloat16) {
      ASSERT_EQ(decoded[i], Float16ToFloat32(Float32ToFloat16(original[i])))
          << tensor << "[" << i << "]";
    } else {
      ASSERT_LE(std::fabs(decoded[i] - original[i]), half_step) << tensor << "[" << i << "]";
    }
  }
}

class RoundTripTest : public ::testing::TestWithParam<std::tuple<WeightEncoding, Pooling>> {};

TEST_P(RoundTripTest, ReadsBackWhatWasWritten) {
  const auto [encoding, pooling] = GetParam();
  const testing::TestModel model = testing::MakeTestModel(SmallShape(pooling), 1);
  const absl::StatusOr<BundleFiles> files =
      WriteBundle(model.weights, model.classes, model.vocabulary, Metadata(encoding));
  ASSERT_TRUE(files.ok()) << files.status();
  const absl::StatusOr<Bundle> bundle = ReadBundle(*files);
  ASSERT_TRUE(bundle.ok()) << bundle.status();

  const ModelWeights& read = bundle->weights;
  EXPECT_EQ(read.shape.vocab_size, model.weights.shape.vocab_size);
  EXPECT_EQ(read.shape.max_length, model.weights.shape.max_length);
  EXPECT_EQ(read.shape.embedding_dim, model.weights.shape.embedding_dim);
  EXPECT_EQ(read.shape.hidden_units, model.weights.shape.hidden_units);
  EXPECT_EQ(read.shape.num_classes, model.weights.shape.num_classes);
  EXPECT_EQ(read.shape.pooling, pooling);
  // What ships is the folded form (padding_fold.h).
  const ModelWeights shipped = FoldPaddingRow(model.weights);
  ExpectDecodedFrom(shipped.embedding, read.embedding, encoding, "embedding");
  ExpectDecodedFrom(shipped.hidden_kernel, read.hidden_kernel, encoding, "hidden_kernel");
  ExpectDecodedFrom(shipped.hidden_bias, read.hidden_bias, encoding, "hidden_bias");
  ExpectDecodedFrom(shipped.output_kernel, read.output_kernel, encoding, "output_kernel");
  ExpectDecodedFrom(shipped.output_bias, read.output_bias, encoding, "output_bias");
  // The padding row reads back exactly 0 in every encoding.
  for (int d = 0; d < read.shape.embedding_dim; ++d) EXPECT_EQ(read.embedding[d], 0.0f) << d;

  EXPECT_EQ(bundle->vocabulary.words(), model.vocabulary.words());
  const BundleManifest& manifest = bundle->manifest;
  EXPECT_EQ(manifest.classes, model.classes);
  EXPECT_EQ(manifest.spec_version, text::kSpecVersion);
  EXPECT_EQ(manifest.vocab_sha256, model.vocabulary.sha256());
  EXPECT_EQ(manifest.weight_encoding, encoding);
  EXPECT_EQ(manifest.metrics, Metadata(encoding).metrics);
  EXPECT_EQ(manifest.lineage, Metadata(encoding).lineage);
  std::vector<std::string> listed;
  for (const BundleFileEntry& entry : manifest.files) listed.push_back(entry.path);
  EXPECT_EQ(listed, (std::vector<std::string>{"group1-shard1of1.bin", "model.json",
                                              "preprocess.json", "vocab.json"}));
}

INSTANTIATE_TEST_SUITE_P(
    Encodings, RoundTripTest,
    ::testing::Combine(::testing::Values(WeightEncoding::kFloat32, WeightEncoding::kFloat16,
                                         WeightEncoding::kUint8),
                       ::testing::Values(Pooling::kGlobalAverage, Pooling::kFlatten)));

class TfidfRoundTripTest : public ::testing::TestWithParam<WeightEncoding> {};

TEST_P(TfidfRoundTripTest, ReadsBackWhatWasWritten) {
  const WeightEncoding encoding = GetParam();
  ModelShape shape = SmallShape();
  shape.architecture = Architecture::kTfidf;
  shape.embedding_dim = shape.hidden_units;
  shape.dropout = 0.5f;
  const testing::TestModel model = testing::MakeTestModel(shape, 3);
  const absl::StatusOr<BundleFiles> files =
      WriteBundle(model.weights, model.classes, model.vocabulary, Metadata(encoding));
  ASSERT_TRUE(files.ok()) << files.status();
  const absl::StatusOr<Bundle> bundle = ReadBundle(*files);
  ASSERT_TRUE(bundle.ok()) << bundle.status();

  const ModelWeights& read = bundle->weights;
  EXPECT_TRUE(read.shape.tfidf());
  EXPECT_EQ(read.shape.max_length, shape.max_length);
  EXPECT_EQ(read.shape.vocab_size, shape.vocab_size);
  EXPECT_EQ(read.shape.hidden_units, shape.hidden_units);
  EXPECT_EQ(read.shape.dropout, 0.5f);
  EXPECT_TRUE(read.hidden_kernel.empty());
  // Nothing is folded: the table is the first Dense kernel as trained.
  ExpectDecodedFrom(model.weights.embedding, read.embedding, encoding, "dense/kernel");
  ExpectDecodedFrom(model.weights.hidden_bias, read.hidden_bias, encoding, "dense/bias");
  ExpectDecodedFrom(model.weights.output_kernel, read.output_kernel, encoding, "dense_1/kernel");
  // idf.json gives back the very floats.
  EXPECT_EQ(read.idf, model.weights.idf);

  const nlohmann::json model_json = nlohmann::json::parse(files->at("model.json"));
  const nlohmann::json& layers = model_json["modelTopology"]["config"]["layers"];
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0]["class_name"], "Dense");
  EXPECT_EQ(layers[0]["config"]["batch_input_shape"], nlohmann::json({nullptr, 300}));
  EXPECT_EQ(layers[1]["class_name"], "Dropout");
  EXPECT_EQ(layers[2]["config"]["activation"], "softmax");
  const nlohmann::json manifest = nlohmann::json::parse(files->at("manifest.json"));
  EXPECT_EQ(manifest["model"]["architecture"], "tfidf");
  EXPECT_FALSE(manifest["model"].contains("pooling"));
  std::vector<std::string> listed;
  for (const BundleFileEntry& entry : bundle->manifest.files) listed.push_back(entry.path);
  EXPECT_EQ(listed, (std::vector<std::string>{"group1-shard1of1.bin", "idf.json", "model.json",
                                              "preprocess.json", "vocab.json"}));
  // What tells the browser's library to feed this model TF-IDF features.
  const nlohmann::json preprocess = nlohmann::json::parse(files->at(kPreprocessFile));
  EXPECT_EQ(preprocess["input"], "tfidf");
  EXPECT_EQ(preprocess["vocab_size"], 300);
}

INSTANTIATE_TEST_SUITE_P(Encodings, TfidfRoundTripTest,
                         ::testing::Values(WeightEncoding::kFloat32, WeightEncoding::kUint8));

TEST(BundleReaderTest, RefusesATfidfBundleWithoutItsIdf) {
  ModelShape shape = SmallShape();
  shape.architecture = Architecture::kTfidf;
  shape.embedding_dim = shape.hidden_units;
  const testing::TestModel model = testing::MakeTestModel(shape, 3);
  BundleFiles files =
      WriteBundle(model.weights, model.classes, model.vocabulary, Metadata(WeightEncoding::kFloat32))
          .value();
  files["idf.json"] = R"({"format":"kiln-idf","idf":[1,2],"vocab_sha256":"x"})";
  // The manifest's sha256 no longer matches: a damaged file is data loss.
  EXPECT_EQ(ReadBundle(files).status().code(), absl::StatusCode::kDataLoss);
  // A well-formed idf.json of another vocabulary, listed correctly, is refused by name.
  const std::string foreign =
      IdfToJson(model.weights.idf, std::string(64, 'a'));
  EXPECT_THAT(ParseIdfJson(foreign, model.vocabulary.sha256(), shape.vocab_size).status().message(),
              ::testing::HasSubstr("idf.json belongs to vocabulary"));
  EXPECT_THAT(ParseIdfJson(IdfToJson({1.0f}, model.vocabulary.sha256()),
                           model.vocabulary.sha256(), shape.vocab_size)
                  .status()
                  .message(),
              ::testing::HasSubstr("300 numbers"));
}

TEST(BundleWriterTest, SplitsWeightsIntoShardsOfFourMebibytes) {
  ModelShape shape = SmallShape();
  shape.vocab_size = 40000;
  shape.embedding_dim = 64;  // 10,240,000 bytes of float32 embedding
  const testing::TestModel model = testing::MakeTestModel(shape, 2);
  const absl::StatusOr<BundleFiles> files = WriteBundle(
      model.weights, model.classes, model.vocabulary, Metadata(WeightEncoding::kFloat32));
  ASSERT_TRUE(files.ok()) << files.status();

  const int64_t total = 4 * (int64_t{40000} * 64 + 64 * 6 + 6 + 6 * 4 + 4);
  const std::vector<std::string> shards = {"group1-shard1of3.bin", "group1-shard2of3.bin",
                                           "group1-shard3of3.bin"};
  EXPECT_EQ(files->at(shards[0]).size(), static_cast<size_t>(kMaxShardBytes));
  EXPECT_EQ(files->at(shards[1]).size(), static_cast<size_t>(kMaxShardBytes));
  EXPECT_EQ(static_cast<int64_t>(files->at(shards[2]).size()), total - 2 * kMaxShardBytes);
  const nlohmann::json model_json = nlohmann::json::parse(files->at(kModelFile));
  EXPECT_EQ(model_json["weightsManifest"][0]["paths"], nlohmann::json(shards));

  const absl::StatusOr<Bundle> bundle = ReadBundle(*files);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->weights.embedding, FoldPaddingRow(model.weights).embedding);
  EXPECT_EQ(bundle->weights.output_bias, model.weights.output_bias);
}

TEST(BundleWriterTest, IsDeterministic) {
  for (WeightEncoding encoding :
       {WeightEncoding::kFloat32, WeightEncoding::kFloat16, WeightEncoding::kUint8}) {
    const testing::TestModel first = testing::MakeTestModel(SmallShape(), 9);
    const testing::TestModel second = testing::MakeTestModel(SmallShape(), 9);
    const absl::StatusOr<BundleFiles> a =
        WriteBundle(first.weights, first.classes, first.vocabulary, Metadata(encoding));
    const absl::StatusOr<BundleFiles> b =
        WriteBundle(second.weights, second.classes, second.vocabulary, Metadata(encoding));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b) << WeightEncodingName(encoding);
  }
}

TEST(BundleWriterTest, ManifestListsEveryOtherFileWithSizeAndSha256) {
  const testing::TestModel model = testing::MakeTestModel(SmallShape(), 3);
  const absl::StatusOr<BundleFiles> files =
      WriteBundle(model.weights, model.classes, model.vocabulary, Metadata(WeightEncoding::kUint8));
  ASSERT_TRUE(files.ok());
  const nlohmann::json manifest = nlohmann::json::parse(files->at(kManifestFile));
  EXPECT_EQ(manifest["format"], "kiln-bundle");
  EXPECT_EQ(manifest["format_version"], 2);
  EXPECT_EQ(manifest["preprocessing"]["max_length"], 12);
  EXPECT_EQ(manifest["model"]["weight_encoding"], "uint8");
  EXPECT_EQ(manifest["files"].size(), files->size() - 1);
  for (const nlohmann::json& entry : manifest["files"]) {
    const std::string& contents = files->at(entry["path"].get<std::string>());
    EXPECT_EQ(entry["size"], contents.size());
    EXPECT_EQ(entry["sha256"], Sha256Hex(contents));
  }
}

TEST(BundleWriterTest, ModelJsonIsALayersModel) {
  const testing::TestModel model = testing::MakeTestModel(SmallShape(), 3);
  const absl::StatusOr<BundleFiles> files =
      WriteBundle(model.weights, model.classes, model.vocabulary, Metadata(WeightEncoding::kUint8));
  ASSERT_TRUE(files.ok());
  const nlohmann::json model_json = nlohmann::json::parse(files->at(kModelFile));
  EXPECT_EQ(model_json["format"], "layers-model");
  const nlohmann::json& layers = model_json["modelTopology"]["config"]["layers"];
  ASSERT_EQ(layers.size(), 4u);
  EXPECT_EQ(layers[0]["class_name"], "Embedding");
  EXPECT_EQ(layers[0]["config"]["batch_input_shape"], nlohmann::json({nullptr, 12}));
  EXPECT_EQ(layers[1]["class_name"], "GlobalAveragePooling1D");
  EXPECT_EQ(layers[3]["config"]["activation"], "softmax");
  const nlohmann::json& weight = model_json["weightsManifest"][0]["weights"][0];
  EXPECT_EQ(weight["name"], "embedding/embeddings");
  EXPECT_EQ(weight["shape"], nlohmann::json({300, 8}));
  EXPECT_EQ(weight["quantization"]["dtype"], "uint8");
  EXPECT_TRUE(weight["quantization"]["min"].is_number());
  EXPECT_TRUE(weight["quantization"]["scale"].is_number());
}

TEST(BundleWriterTest, PreprocessFileCarriesTheModelsConstants) {
  const testing::TestModel model = testing::MakeTestModel(SmallShape(), 3);
  const absl::StatusOr<BundleFiles> files = WriteBundle(
      model.weights, model.classes, model.vocabulary, Metadata(WeightEncoding::kFloat32));
  ASSERT_TRUE(files.ok());
  const nlohmann::json preprocess = nlohmann::json::parse(files->at(kPreprocessFile));
  EXPECT_EQ(preprocess["format"], "kiln-preprocess");
  EXPECT_EQ(preprocess["spec_version"], "kiln-text-1");
  EXPECT_EQ(preprocess["input"], "ids");
  EXPECT_EQ(preprocess["max_length"], 12);
  EXPECT_EQ(preprocess["vocab_size"], 300);
  EXPECT_EQ(preprocess["vocab_sha256"], model.vocabulary.sha256());
  EXPECT_EQ(preprocess["classes"], model.classes);
  EXPECT_FALSE(files->count(kFormat1PreprocessFile));
}

TEST(BundleFilesTest, DirectoryRoundTrip) {
  const testing::TestModel model = testing::MakeTestModel(SmallShape(), 4);
  const absl::StatusOr<BundleFiles> files = WriteBundle(
      model.weights, model.classes, model.vocabulary, Metadata(WeightEncoding::kFloat16));
  ASSERT_TRUE(files.ok());
  const std::string dir = ::testing::TempDir() + "/kiln_bundle_dir_round_trip";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WriteBundleDirectory(*files, dir).ok());
  std::ofstream(dir + "/unrelated.txt") << "not part of the bundle";
  const absl::StatusOr<BundleFiles> read = ReadBundleDirectory(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, *files);  // only the listed files are read
  std::filesystem::remove_all(dir);
}

TEST(BundleFilesTest, FileNamesStayInsideTheBundle) {
  EXPECT_TRUE(IsBundleFileName("group1-shard1of2.bin"));
  EXPECT_TRUE(IsBundleFileName("model.json"));
  EXPECT_FALSE(IsBundleFileName(""));
  EXPECT_FALSE(IsBundleFileName("../model.json"));
  EXPECT_FALSE(IsBundleFileName("a/b"));
  EXPECT_FALSE(IsBundleFileName(".hidden"));
  EXPECT_FALSE(IsBundleFileName("/etc/passwd"));
}

// Folding the padding row into the bias must not change what the model
// computes: the same probabilities for texts of every length.
TEST(PaddingFoldTest, KeepsTheFunctionAndZeroesThePaddingRow) {
  for (Pooling pooling : {Pooling::kGlobalAverage, Pooling::kFlatten}) {
    const testing::TestModel model = testing::MakeTestModel(SmallShape(pooling), 11);
    const ModelWeights folded = FoldPaddingRow(model.weights);
    for (int d = 0; d < folded.shape.embedding_dim; ++d) EXPECT_EQ(folded.embedding[d], 0.0f);
    std::vector<int32_t> ids;
    const int length = model.weights.shape.max_length;
    for (int filled : {0, 1, length / 2, length}) {
      for (int i = 0; i < length; ++i) {
        ids.push_back(i < filled ? 2 + (i * 7 + filled) % (model.weights.shape.vocab_size - 2) : 0);
      }
    }
    const std::vector<float> before = testing::ReferenceForward(model.weights, ids);
    const std::vector<float> after = testing::ReferenceForward(folded, ids);
    ASSERT_EQ(before.size(), after.size());
    for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(before[i], after[i], 1e-6) << i;
  }
}

}  // namespace
}  // namespace kiln::model
