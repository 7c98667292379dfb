// BuildPreprocessScript: the constants and architecture each kind of model
// gets (what the script does with them: tests/js/preprocess_script.test.mjs).
#include "services/model/preprocess_script.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "services/text/vocabulary.h"

namespace kiln::model {
namespace {

text::Vocabulary SmallVocabulary() {
  absl::StatusOr<text::Vocabulary> vocabulary =
      text::Vocabulary::FromWords({"<pad>", "<oov>", "goalie", "shuttle", "orbit"});
  EXPECT_TRUE(vocabulary.ok()) << vocabulary.status();
  return *vocabulary;
}

const std::vector<std::string> kClasses = {"rec.sport.hockey", "sci.space"};

TEST(PreprocessScriptTest, TfidfScriptDeclaresItsArchitectureAndTheTwinsFeatures) {
  const text::Vocabulary vocabulary = SmallVocabulary();
  const absl::StatusOr<std::string> script =
      BuildPreprocessScript(ModelInput::kTfidf, 7, vocabulary, kClasses);
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_TRUE(absl::StrContains(*script, "var ARCHITECTURE = 'tfidf';"));
  EXPECT_TRUE(absl::StrContains(*script, "var MAX_LENGTH = 7;"));
  EXPECT_TRUE(absl::StrContains(*script, "var VOCAB_SIZE = 5;"));
  EXPECT_TRUE(absl::StrContains(*script, "var VOCAB_SHA256 = '" + vocabulary.sha256() + "';"));
  EXPECT_TRUE(absl::StrContains(*script, R"(var CLASSES = ["rec.sport.hockey","sci.space"];)"));
  EXPECT_TRUE(absl::StrContains(*script, "function tfidfFeatures(ids, idf)"));
  EXPECT_TRUE(absl::StrContains(*script, "function createPreprocessor(vocab, idf)"));
  EXPECT_FALSE(absl::StrContains(*script, "\nexport "));
}

TEST(PreprocessScriptTest, IdsScriptIsTheArticles) {
  const absl::StatusOr<std::string> script =
      BuildPreprocessScript(ModelInput::kIds, 7, SmallVocabulary(), kClasses);
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_TRUE(absl::StrContains(*script, "var ARCHITECTURE = 'article';"));
  EXPECT_FALSE(absl::StrContains(*script, "var ARCHITECTURE = 'tfidf';"));
  EXPECT_TRUE(absl::StrContains(*script, "var MAX_LENGTH = 7;"));
}

TEST(PreprocessScriptTest, OnlyTheArchitectureLineDiffers) {
  const text::Vocabulary vocabulary = SmallVocabulary();
  absl::StatusOr<std::string> tfidf =
      BuildPreprocessScript(ModelInput::kTfidf, 7, vocabulary, kClasses);
  absl::StatusOr<std::string> ids =
      BuildPreprocessScript(ModelInput::kIds, 7, vocabulary, kClasses);
  ASSERT_TRUE(tfidf.ok() && ids.ok());
  EXPECT_EQ(absl::StrReplaceAll(*tfidf, {{"'tfidf';\nvar MAX", "'article';\nvar MAX"}}), *ids);
}

}  // namespace
}  // namespace kiln::model
