#include "services/text/encoder.h"

#include <cstdint>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace kiln::text {
namespace {

Vocabulary SmallVocabulary() {
  absl::StatusOr<Vocabulary> vocab =
      Vocabulary::FromWords({kPaddingWord, kUnknownWord, "the", "cat", "<num>"});
  EXPECT_TRUE(vocab.ok()) << vocab.status();
  return *std::move(vocab);
}

TEST(EncodeTest, PadsShortSequencesAtTheEnd) {
  const Vocabulary vocab = SmallVocabulary();
  const std::vector<std::string_view> tokens = {"the", "dog", "cat"};
  EXPECT_EQ(Encode(tokens, vocab, 5).value(), (std::vector<int32_t>{2, 1, 3, 0, 0}));
}

TEST(EncodeTest, TruncatesLongSequences) {
  const Vocabulary vocab = SmallVocabulary();
  const std::vector<std::string_view> tokens = {"the", "dog", "cat", "<num>"};
  EXPECT_EQ(Encode(tokens, vocab, 2).value(), (std::vector<int32_t>{2, 1}));
  EXPECT_EQ(Encode(tokens, vocab, 4).value(), (std::vector<int32_t>{2, 1, 3, 4}));
}

TEST(EncodeTest, EmptyInputIsAllPadding) {
  const Vocabulary vocab = SmallVocabulary();
  EXPECT_EQ(Encode({}, vocab, 3).value(), (std::vector<int32_t>{0, 0, 0}));
}

TEST(EncodeTest, RejectsNonPositiveMaxLength) {
  const Vocabulary vocab = SmallVocabulary();
  EXPECT_EQ(Encode({}, vocab, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Encode({}, vocab, -1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TextEncoderTest, MatchesTokenizeThenEncodeAcrossCalls) {
  const Vocabulary vocab = SmallVocabulary();
  TextEncoder encoder(vocab);
  for (std::string_view text :
       {"The CAT, the dog and 123456 cats.", "", "cat", "THE THE THE THE THE THE THE"}) {
    std::vector<int32_t> ids(4, -1);
    encoder.Encode(text, absl::MakeSpan(ids));
    const std::vector<std::string> tokens = Tokenize(text);
    const std::vector<std::string_view> views(tokens.begin(), tokens.end());
    EXPECT_EQ(ids, Encode(views, vocab, 4).value()) << text;
  }
}

}  // namespace
}  // namespace kiln::text
