// Bundles the reader must refuse, and inputs the writer must refuse, each
// with an error that names the file and the problem.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/sha256.h"
#include "services/model/bundle_files.h"
#include "services/model/bundle_manifest.h"
#include "services/model/bundle_reader.h"
#include "services/model/bundle_writer.h"
#include "tests/model/bundle_test_model.h"

namespace kiln::model {
namespace {

using ::testing::HasSubstr;

testing::TestModel SmallModel() {
  ModelShape shape;
  shape.vocab_size = 50;
  shape.max_length = 6;
  shape.embedding_dim = 4;
  shape.hidden_units = 3;
  shape.num_classes = 3;
  return testing::MakeTestModel(shape, 8);
}

BundleFiles SmallBundle() {
  const testing::TestModel model = SmallModel();
  BundleMetadata metadata;
  metadata.weight_encoding = WeightEncoding::kUint8;
  return *WriteBundle(model.weights, model.classes, model.vocabulary, metadata);
}

// Re-lists every file in manifest.json with its current size and sha256, so
// that a tampered file reaches the checks behind the integrity check.
void Rehash(BundleFiles* files) {
  BundleManifest manifest = *ParseManifest(files->at(kManifestFile));
  for (BundleFileEntry& entry : manifest.files) {
    entry.size = static_cast<int64_t>(files->at(entry.path).size());
    entry.sha256 = Sha256Hex(files->at(entry.path));
  }
  (*files)[kManifestFile] = ManifestToJson(manifest);
}

void EditJson(BundleFiles* files, const char* file, void (*edit)(nlohmann::json&)) {
  nlohmann::json doc = nlohmann::json::parse(files->at(file));
  edit(doc);
  (*files)[file] = doc.dump();
}

void ExpectError(const BundleFiles& files, absl::StatusCode code, const std::string& fragment) {
  const absl::StatusOr<Bundle> bundle = ReadBundle(files);
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.status().code(), code) << bundle.status();
  EXPECT_THAT(std::string(bundle.status().message()), HasSubstr(fragment));
}

TEST(BundleReaderTest, RefusesAMissingFile) {
  BundleFiles files = SmallBundle();
  files.erase("group1-shard1of1.bin");
  ExpectError(files, absl::StatusCode::kNotFound, "group1-shard1of1.bin");
}

TEST(BundleReaderTest, RefusesAMissingManifest) {
  BundleFiles files = SmallBundle();
  files.erase(kManifestFile);
  ExpectError(files, absl::StatusCode::kNotFound, "manifest.json");
}

TEST(BundleReaderTest, RefusesAShaMismatch) {
  BundleFiles files = SmallBundle();
  std::string& shard = files["group1-shard1of1.bin"];
  shard[shard.size() / 2] ^= 0x01;
  ExpectError(files, absl::StatusCode::kDataLoss, "group1-shard1of1.bin has sha256");
}

TEST(BundleReaderTest, RefusesASizeMismatch) {
  BundleFiles files = SmallBundle();
  files[kVocabFile] += " ";
  ExpectError(files, absl::StatusCode::kDataLoss, "vocab.json is");
}

TEST(BundleReaderTest, RefusesAnUnlistedFile) {
  BundleFiles files = SmallBundle();
  files["extra.bin"] = "x";
  ExpectError(files, absl::StatusCode::kInvalidArgument, "extra.bin");
}

TEST(BundleReaderTest, RefusesBadManifestJson) {
  BundleFiles files = SmallBundle();
  files[kManifestFile] = "{not json";
  ExpectError(files, absl::StatusCode::kInvalidArgument, "manifest.json");
}

TEST(BundleReaderTest, RefusesATraversingPathInTheManifest) {
  BundleFiles files = SmallBundle();
  EditJson(&files, kManifestFile, [](nlohmann::json& m) { m["files"][0]["path"] = "../secret"; });
  ExpectError(files, absl::StatusCode::kInvalidArgument, "not a bundle file name");
}

TEST(BundleReaderTest, RefusesANewerFormatVersion) {
  BundleFiles files = SmallBundle();
  EditJson(&files, kManifestFile, [](nlohmann::json& m) { m["format_version"] = 3; });
  ExpectError(files, absl::StatusCode::kFailedPrecondition, "format_version 3, this build reads 1 to 2");
}

// Versions published before format 2 still read (kiln predict of an old
// version): their preprocess.js is only checked against its digest.
TEST(BundleReaderTest, ReadsAFormat1BundleWithItsPreprocessScript) {
  BundleFiles files = SmallBundle();
  files.erase(kPreprocessFile);
  files[kFormat1PreprocessFile] = "var KilnPreprocess = {};\n";
  BundleManifest manifest = *ParseManifest(files.at(kManifestFile));
  manifest.format_version = 1;
  for (BundleFileEntry& entry : manifest.files) {
    if (entry.path == kPreprocessFile) entry.path = kFormat1PreprocessFile;
  }
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const BundleFileEntry& a, const BundleFileEntry& b) { return a.path < b.path; });
  files[kManifestFile] = ManifestToJson(manifest);
  Rehash(&files);
  const absl::StatusOr<Bundle> bundle = ReadBundle(files);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->manifest.format_version, 1);

  // A format 2 bundle must have preprocess.json.
  EditJson(&files, kManifestFile, [](nlohmann::json& m) { m["format_version"] = 2; });
  ExpectError(files, absl::StatusCode::kInvalidArgument, "does not list preprocess.json");
}

TEST(BundleReaderTest, RefusesAPreprocessFileThatDisagreesWithTheManifest) {
  BundleFiles files = SmallBundle();
  EditJson(&files, kPreprocessFile, [](nlohmann::json& p) { p["max_length"] = 7; });
  Rehash(&files);
  ExpectError(files, absl::StatusCode::kInvalidArgument,
              "preprocess.json \"max_length\" is 7, manifest.json says 6");
}

TEST(BundleReaderTest, RefusesAnotherPreprocessingSpec) {
  BundleFiles files = SmallBundle();
  EditJson(&files, kManifestFile,
           [](nlohmann::json& m) { m["preprocessing"]["spec_version"] = "kiln-text-0"; });
  ExpectError(files, absl::StatusCode::kFailedPrecondition, "kiln-text-0");
}

TEST(BundleReaderTest, RefusesBadModelJson) {
  BundleFiles files = SmallBundle();
  files[kModelFile] = "[1, 2";
  Rehash(&files);
  ExpectError(files, absl::StatusCode::kInvalidArgument, "model.json is not a JSON object");
}

TEST(BundleReaderTest, RefusesAnUnsupportedLayer) {
  BundleFiles files = SmallBundle();
  EditJson(&files, kModelFile, [](nlohmann::json& m) {
    m["modelTopology"]["config"]["layers"][2]["class_name"] = "Conv1D";
  });
  Rehash(&files);
  ExpectError(files, absl::StatusCode::kInvalidArgument,
              "unsupported layer \"dense\" of class Conv1D");
}

TEST(BundleReaderTest, RefusesATopologyThatDisagreesWithTheManifest) {
  BundleFiles files = SmallBundle();
  EditJson(&files, kModelFile, [](nlohmann::json& m) {
    m["modelTopology"]["config"]["layers"][2]["config"]["units"] = 5;
  });
  Rehash(&files);
  ExpectError(files, absl::StatusCode::kInvalidArgument, "model.json has hidden_units 5");
}

TEST(BundleReaderTest, RefusesAWeightShapeMismatch) {
  BundleFiles files = SmallBundle();
  EditJson(&files, kModelFile, [](nlohmann::json& m) {
    m["weightsManifest"][0]["weights"][1]["shape"] = {3, 4};
  });
  Rehash(&files);
  ExpectError(files, absl::StatusCode::kInvalidArgument, "weight \"dense/kernel\" has shape [3,4]");
}

TEST(BundleReaderTest, RefusesShardsOfTheWrongLength) {
  BundleFiles files = SmallBundle();
  files["group1-shard1of1.bin"].pop_back();
  Rehash(&files);
  ExpectError(files, absl::StatusCode::kInvalidArgument, "dense_1/bias");
}

TEST(BundleReaderTest, RefusesAnEncodingOtherThanTheManifests) {
  BundleFiles files = SmallBundle();
  EditJson(&files, kManifestFile,
           [](nlohmann::json& m) { m["model"]["weight_encoding"] = "float16"; });
  ExpectError(files, absl::StatusCode::kInvalidArgument, "manifest.json says float16");
}

TEST(BundleReaderTest, RefusesAVocabularyOfAnotherSize) {
  BundleFiles files = SmallBundle();
  EditJson(&files, kManifestFile, [](nlohmann::json& m) { m["preprocessing"]["vocab_size"] = 51; });
  // The topology check would also catch it; the vocabulary is read first.
  ExpectError(files, absl::StatusCode::kInvalidArgument, "vocab.json holds 50 words");
}

TEST(BundleWriterTest, RefusesInconsistentInputs) {
  const testing::TestModel model = SmallModel();
  BundleMetadata metadata;
  std::vector<std::string> two_classes = {"a", "b"};
  EXPECT_THAT(
      std::string(
          WriteBundle(model.weights, two_classes, model.vocabulary, metadata).status().message()),
      HasSubstr("2 class names for a model with 3 outputs"));
  std::vector<std::string> repeated = {"a", "b", "a"};
  EXPECT_FALSE(WriteBundle(model.weights, repeated, model.vocabulary, metadata).ok());

  ModelWeights wrong_vocab = model.weights;
  wrong_vocab.shape.vocab_size = 49;
  wrong_vocab.embedding.resize(49 * 4);
  EXPECT_THAT(
      std::string(
          WriteBundle(wrong_vocab, model.classes, model.vocabulary, metadata).status().message()),
      HasSubstr("the vocabulary holds 50 ids, the embedding 49"));

  BundleMetadata nan_metric;
  nan_metric.metrics["recall@1"] = std::nan("");
  EXPECT_FALSE(WriteBundle(model.weights, model.classes, model.vocabulary, nan_metric).ok());
  BundleMetadata array_lineage;
  array_lineage.lineage = nlohmann::json::array();
  EXPECT_FALSE(WriteBundle(model.weights, model.classes, model.vocabulary, array_lineage).ok());

  ModelWeights short_bias = model.weights;
  short_bias.output_bias.pop_back();
  EXPECT_THAT(
      std::string(
          WriteBundle(short_bias, model.classes, model.vocabulary, metadata).status().message()),
      HasSubstr("output_bias"));
}

}  // namespace
}  // namespace kiln::model
