#include "services/text/vocabulary.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace kiln::text {
namespace {

TokenCounter CounterOf(const std::vector<std::pair<std::string_view, int>>& counts) {
  TokenCounter counter;
  for (const auto& [word, count] : counts) {
    const std::vector<std::string_view> tokens(count, word);
    counter.Add(tokens);
  }
  return counter;
}

std::vector<std::string> Words(std::initializer_list<std::string_view> words) {
  std::vector<std::string> all = {kPaddingWord, kUnknownWord};
  all.insert(all.end(), words.begin(), words.end());
  return all;
}

TEST(VocabularyTest, OrdersByDescendingCountThenByBytes) {
  const TokenCounter counter =
      CounterOf({{"b", 3}, {"a", 3}, {"c", 5}, {"d", 1}, {"<num>", 3}, {"1", 3}});
  const absl::StatusOr<Vocabulary> vocab = Vocabulary::Build(counter, {});
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  // '1' (0x31) < '<' (0x3C) < 'a' (0x61).
  EXPECT_EQ(vocab->words(), Words({"c", "1", "<num>", "a", "b", "d"}));
  EXPECT_EQ(vocab->size(), 8);
  EXPECT_EQ(vocab->IdOf("c"), 2);
  EXPECT_EQ(vocab->IdOf("d"), 7);
}

TEST(VocabularyTest, MinCountAndMaxSizeLimitTheWords) {
  const TokenCounter counter = CounterOf({{"b", 3}, {"a", 3}, {"c", 5}, {"d", 1}});
  absl::StatusOr<Vocabulary> vocab = Vocabulary::Build(counter, {/*min_count=*/2});
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->words(), Words({"c", "a", "b"}));

  vocab = Vocabulary::Build(counter, {/*min_count=*/1, /*max_size=*/4});
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->words(), Words({"c", "a"}));

  vocab = Vocabulary::Build(counter, {/*min_count=*/1, /*max_size=*/2});
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->words(), Words({}));

  vocab = Vocabulary::Build(counter, {/*min_count=*/6});
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->words(), Words({}));
}

TEST(VocabularyTest, RejectsBadOptionsAndNonTokens) {
  const TokenCounter counter = CounterOf({{"a", 1}});
  EXPECT_EQ(Vocabulary::Build(counter, {/*min_count=*/0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Vocabulary::Build(counter, {/*min_count=*/1, /*max_size=*/1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Vocabulary::Build(counter, {/*min_count=*/1, /*max_size=*/-3}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Vocabulary::Build(CounterOf({{"Upper", 1}}), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VocabularyTest, UnknownAndReservedWordsMapToTheUnknownId) {
  const absl::StatusOr<Vocabulary> vocab = Vocabulary::FromWords(Words({"the"}));
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->IdOf("the"), 2);
  EXPECT_EQ(vocab->IdOf("thee"), kUnknownId);
  EXPECT_EQ(vocab->IdOf(kPaddingWord), kUnknownId);
  EXPECT_EQ(vocab->IdOf(kUnknownWord), kUnknownId);
}

TEST(VocabularyTest, FromWordsValidates) {
  EXPECT_FALSE(Vocabulary::FromWords({}).ok());
  EXPECT_FALSE(Vocabulary::FromWords({"the", "<oov>"}).ok());
  EXPECT_FALSE(Vocabulary::FromWords(Words({"the", "the"})).ok());
  EXPECT_FALSE(Vocabulary::FromWords(Words({""})).ok());
  EXPECT_FALSE(Vocabulary::FromWords(Words({"12345"})).ok());  // always <num>
}

TEST(VocabularyTest, HashIsSha256OfTheCanonicalSerialization) {
  const absl::StatusOr<Vocabulary> vocab = Vocabulary::FromWords(Words({"the", "a", "<num>"}));
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  // sha256 of "kiln-text-1\n<pad>\n<oov>\nthe\na\n<num>\n", computed with
  // Python's hashlib: a change here breaks every stored vocabulary hash.
  EXPECT_EQ(vocab->sha256(), "f00eb73429d442223bf8f01b49a9b0436094b150a1abf690f99d3d4d71d8667e");

  const absl::StatusOr<Vocabulary> reordered =
      Vocabulary::FromWords(Words({"a", "the", "<num>"}));
  ASSERT_TRUE(reordered.ok()) << reordered.status();
  EXPECT_NE(reordered->sha256(), vocab->sha256());
}

TEST(VocabularyTest, JsonRoundTrips) {
  const absl::StatusOr<Vocabulary> vocab =
      Vocabulary::Build(CounterOf({{"the", 4}, {"<email>", 2}, {"x11", 2}}), {});
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  const std::string json = vocab->ToJson();
  const nlohmann::json doc = nlohmann::json::parse(json);
  EXPECT_EQ(doc["spec_version"], kSpecVersion);
  EXPECT_EQ(doc["sha256"], vocab->sha256());

  const absl::StatusOr<Vocabulary> parsed = Vocabulary::FromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->words(), vocab->words());
  EXPECT_EQ(parsed->sha256(), vocab->sha256());
}

TEST(VocabularyTest, FromJsonReportsWhatIsWrong) {
  const auto code = [](std::string_view json) {
    return Vocabulary::FromJson(json).status().code();
  };
  EXPECT_EQ(code(R"({"spec_version":"kiln-text-1","words":["<pad>","<oov>","a"]})"),
            absl::StatusCode::kOk);
  EXPECT_EQ(code("not json"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("[]"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"words":["<pad>","<oov>"]})"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"spec_version":"kiln-text-0","words":["<pad>","<oov>"]})"),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(code(R"({"spec_version":"kiln-text-1","words":"a"})"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"spec_version":"kiln-text-1","words":["<pad>","<oov>",3]})"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"spec_version":"kiln-text-1","words":["<pad>","<oov>","A"]})"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"spec_version":"kiln-text-1","sha256":"00","words":["<pad>","<oov>"]})"),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace kiln::text
