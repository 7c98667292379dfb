// preprocess.json: what each kind of model's file says, and the reader's
// check that it agrees with the manifest (what the JavaScript library does
// with it: tests/js/preprocess_file.test.mjs).
#include "services/model/preprocess_file.h"

#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace kiln::model {
namespace {

BundleManifest SmallManifest(Architecture architecture) {
  BundleManifest manifest;
  manifest.classes = {"rec.sport.hockey", "sci.space"};
  manifest.spec_version = "kiln-text-1";
  manifest.vocab_sha256 = std::string(64, 'a');
  manifest.shape.architecture = architecture;
  manifest.shape.max_length = 7;
  manifest.shape.vocab_size = 5;
  manifest.shape.num_classes = 2;
  return manifest;
}

TEST(PreprocessFileTest, TfidfFileNamesItsInputAndConstants) {
  const BundleManifest manifest = SmallManifest(Architecture::kTfidf);
  const nlohmann::json file = nlohmann::json::parse(PreprocessFileJson(manifest));
  EXPECT_EQ(file, (nlohmann::json{{"format", "kiln-preprocess"},
                                  {"spec_version", "kiln-text-1"},
                                  {"input", "tfidf"},
                                  {"max_length", 7},
                                  {"vocab_size", 5},
                                  {"vocab_sha256", std::string(64, 'a')},
                                  {"classes", {"rec.sport.hockey", "sci.space"}}}));
}

TEST(PreprocessFileTest, ArticleModelsReadIds) {
  const nlohmann::json file =
      nlohmann::json::parse(PreprocessFileJson(SmallManifest(Architecture::kArticle)));
  EXPECT_EQ(file["input"], "ids");
}

TEST(PreprocessFileTest, IsAsciiWhateverTheClassNames) {
  BundleManifest manifest = SmallManifest(Architecture::kTfidf);
  manifest.classes[1] = "sci.espace\xC3\xA9";
  const std::string json = PreprocessFileJson(manifest);
  for (char c : json) EXPECT_GE(static_cast<signed char>(c), 0) << json;
  EXPECT_TRUE(CheckPreprocessFile(json, manifest).ok());
}

TEST(PreprocessFileTest, TheReaderNamesTheFieldThatDisagreesWithTheManifest) {
  const BundleManifest manifest = SmallManifest(Architecture::kTfidf);
  EXPECT_TRUE(CheckPreprocessFile(PreprocessFileJson(manifest), manifest).ok());

  BundleManifest other = manifest;
  other.shape.max_length = 8;
  const absl::Status longer = CheckPreprocessFile(PreprocessFileJson(other), manifest);
  EXPECT_EQ(longer.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(longer.message(), "preprocess.json \"max_length\" is 8, manifest.json says 7");

  other = SmallManifest(Architecture::kArticle);
  EXPECT_EQ(CheckPreprocessFile(PreprocessFileJson(other), manifest).message(),
            "preprocess.json \"input\" is \"ids\", manifest.json says \"tfidf\"");

  nlohmann::json without = nlohmann::json::parse(PreprocessFileJson(manifest));
  without.erase("vocab_sha256");
  EXPECT_EQ(CheckPreprocessFile(without.dump(), manifest).message(),
            "preprocess.json has no \"vocab_sha256\"");
  EXPECT_EQ(CheckPreprocessFile("[1]", manifest).message(), "preprocess.json is not a JSON object");
}

}  // namespace
}  // namespace kiln::model
