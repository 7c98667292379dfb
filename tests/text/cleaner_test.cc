// Properties of cleaning and tokenizing that hold for every input; the
// expected tokens of specific inputs live in tests/golden/text-vectors.json.
#include <algorithm>
#include <cctype>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "services/text/cleaner.h"
#include "services/text/spec.h"
#include "services/text/tokenizer.h"

namespace kiln::text {
namespace {

// Bytes that exercise every branch of the scanner: letters, digits, address
// and URL punctuation, lead and continuation bytes, and bytes that are never
// valid UTF-8.
std::string RandomText(std::mt19937& rng) {
  static constexpr std::string_view kPieces[] = {
      "a", "Z", "7", "12345", "@", ".", "-", "_", "+", ":", "/", " ", "\n",
      "http://", "www.", "ftp://", "x@y.z", "\xC3", "\xA9", "\xC3\xA9", "\xC5\x93",
      "\xCC\x81", "\xC2\xAD", "\xFF", "\xC0", "\xED\xA0\x80", "\xF0\x9F\x98\x80",
      "\xE2\x82", "\x80",
  };
  std::uniform_int_distribution<size_t> piece(0, std::size(kPieces) - 1);
  std::uniform_int_distribution<int> length(0, 120);
  std::string text;
  for (int i = length(rng); i > 0; --i) text += kPieces[piece(rng)];
  return text;
}

TEST(CleanTextTest, OutputIsTokensJoinedBySingleSpacesWithinTheBound) {
  std::mt19937 rng(20240601);
  for (int round = 0; round < 20000; ++round) {
    const std::string text = RandomText(rng);
    // Guard bytes after the bound catch writes past it.
    const size_t bound = CleanedSizeBound(text.size());
    std::string out(bound + 16, '#');
    const size_t size = CleanTextTo(text, out.data());
    ASSERT_LE(size, bound);
    ASSERT_EQ(out.substr(bound), std::string(16, '#'));
    const std::string cleaned = out.substr(0, size);

    // TokenizeTo writes the same text and views of its tokens.
    std::string tokenized_out(bound + 16, '#');
    std::vector<std::string_view> views(MaxTokenCount(text.size()) + 1);
    const size_t count =
        TokenizeTo(text, tokenized_out.data(), views.data(), views.size());
    ASSERT_LE(count, MaxTokenCount(text.size()));
    ASSERT_EQ(tokenized_out.substr(bound), std::string(16, '#'));
    const std::vector<std::string> tokens(views.begin(), views.begin() + count);
    std::string joined;
    for (const std::string& token : tokens) {
      ASSERT_TRUE(IsToken(token)) << "token \"" << token << "\" of " << text;
      if (!joined.empty()) joined += ' ';
      joined += token;
    }
    ASSERT_EQ(joined, cleaned);
    ASSERT_EQ(CleanText(text), cleaned);
    ASSERT_EQ(Tokenize(text), tokens);

    // A limit keeps exactly the first tokens, and writes no view past it.
    for (size_t limit : {size_t{0}, size_t{1}, size_t{3}}) {
      std::vector<std::string_view> first(limit + 1, "#");
      const size_t first_count = TokenizeTo(text, tokenized_out.data(), first.data(), limit);
      ASSERT_EQ(first_count, std::min(limit, tokens.size()));
      for (size_t i = 0; i < first_count; ++i) ASSERT_EQ(first[i], tokens[i]);
      ASSERT_EQ(first[limit], "#");
    }
  }
}

// Plain ASCII prose is where the scanner takes 64 bytes at a time; there the
// tokens are exactly the lower-cased alnum runs, with long numbers replaced.
TEST(CleanTextTest, PlainProseTokensAreTheAlnumRuns) {
  static constexpr std::string_view kAlphabet =
      "aaeeiioouubcdfghklmnprsty0123456789ABCDEFXYZ     \n\t.,;-_'\"()!?";
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 700);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    for (int i = length(rng); i > 0; --i) text += kAlphabet[pick(rng)];
    std::vector<std::string> expected;
    std::string run;
    for (size_t i = 0; i <= text.size(); ++i) {
      const char c = i < text.size() ? text[i] : ' ';
      if (std::isalnum(static_cast<unsigned char>(c))) {
        run += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        continue;
      }
      if (run.empty()) continue;
      const bool long_number = run.size() >= static_cast<size_t>(kMinPlaceholderDigits) &&
                               run.find_first_not_of("0123456789") == std::string::npos;
      expected.push_back(long_number ? kNumberToken : run);
      run.clear();
    }
    ASSERT_EQ(Tokenize(text), expected) << text;
  }
}

TEST(CleanTextTest, WorstCaseExpansionFitsTheBound) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "a@b.c ";
  const std::string cleaned = CleanText(text);
  EXPECT_LE(cleaned.size(), CleanedSizeBound(text.size()));
  EXPECT_EQ(Tokenize(text).size(), 1000u);
}

TEST(TokenizerTest, ReusedTokenizerMatchesFreshTokenization) {
  Tokenizer tokenizer;
  const std::string long_text(5000, 'x');
  for (std::string_view text : {std::string_view(long_text), std::string_view("Short text."),
                                std::string_view(""), std::string_view("caf\xC3\xA9 at@x.org")}) {
    const absl::Span<const std::string_view> views = tokenizer.Tokenize(text);
    EXPECT_EQ(std::vector<std::string>(views.begin(), views.end()), Tokenize(text));
  }
}

TEST(IsTokenTest, AcceptsExactlyWhatCleaningProduces) {
  for (std::string_view word : {"a", "x11r5", "1234", "123456x", kEmailToken, kUrlToken,
                                kNumberToken}) {
    EXPECT_TRUE(IsToken(word)) << word;
  }
  for (std::string_view word : {"", "A", "12345", "two words", "caf\xC3\xA9", "<pad>",
                                "<oov>", "don't"}) {
    EXPECT_FALSE(IsToken(word)) << word;
  }
}

}  // namespace
}  // namespace kiln::text
