// The text-preprocessing spec in C++ (services/text) on any bytes: the
// cleaner writing into exactly the room its header asks for, the tokenizer
// with and without a token limit, and a vocabulary built from the tokens
// encoding them and surviving its vocab.json form.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "services/text/cleaner.h"
#include "services/text/encoder.h"
#include "services/text/spec.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using kiln::text::CleanedSizeBound;
using kiln::text::MaxTokenCount;

// The cleaned text into a heap buffer of exactly the promised bound, so that
// AddressSanitizer sees a single byte written past it.
std::string CleanExactly(std::string_view utf8) {
  const size_t bound = CleanedSizeBound(utf8.size());
  auto out = std::make_unique<char[]>(bound);
  const size_t written = kiln::text::CleanTextTo(utf8, out.get());
  FUZZ_CHECK(written <= bound);
  return std::string(out.get(), written);
}

std::vector<std::string_view> TokenizeExactly(std::string_view utf8, size_t max_tokens,
                                              std::unique_ptr<char[]>& cleaned) {
  cleaned = std::make_unique<char[]>(CleanedSizeBound(utf8.size()));
  const size_t room = std::min(max_tokens, MaxTokenCount(utf8.size()));
  auto views = std::make_unique<std::string_view[]>(std::max<size_t>(room, 1));
  const size_t count = kiln::text::TokenizeTo(utf8, cleaned.get(), views.get(), max_tokens);
  FUZZ_CHECK(count <= room);
  return std::vector<std::string_view>(views.get(), views.get() + count);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks a token limit, the rest is the text.
  const size_t limit = size > 0 ? data[0] % 16 : 0;
  const std::string_view text =
      size > 0 ? std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1) : "";

  const std::string cleaned = CleanExactly(text);
  FUZZ_CHECK(cleaned == kiln::text::CleanText(text));
  FUZZ_CHECK(cleaned.empty() || (cleaned.front() != ' ' && cleaned.back() != ' '));
  std::vector<std::string_view> words;
  for (size_t begin = 0; begin < cleaned.size();) {
    const size_t end = std::min(cleaned.find(' ', begin), cleaned.size());
    words.push_back(std::string_view(cleaned).substr(begin, end - begin));
    begin = end + 1;
  }
  for (std::string_view word : words) FUZZ_CHECK(kiln::text::IsToken(word));

  std::unique_ptr<char[]> buffer;
  const std::vector<std::string_view> all = TokenizeExactly(text, SIZE_MAX, buffer);
  FUZZ_CHECK(all == words);
  std::unique_ptr<char[]> limited_buffer;
  const std::vector<std::string_view> first = TokenizeExactly(text, limit, limited_buffer);
  FUZZ_CHECK(first.size() == std::min(limit, words.size()));
  FUZZ_CHECK(std::equal(first.begin(), first.end(), words.begin()));

  // A reused Tokenizer answers as a fresh one, whatever came before.
  static kiln::text::Tokenizer reused;
  const absl::Span<const std::string_view> again = reused.Tokenize(text, limit);
  FUZZ_CHECK(std::equal(again.begin(), again.end(), first.begin(), first.end()));

  kiln::text::TokenCounter counter;
  counter.Add(all);
  absl::StatusOr<kiln::text::Vocabulary> vocabulary =
      kiln::text::Vocabulary::Build(counter, kiln::text::VocabularyOptions{});
  FUZZ_CHECK(vocabulary.ok());
  absl::StatusOr<kiln::text::Vocabulary> reread =
      kiln::text::Vocabulary::FromJson(vocabulary->ToJson());
  FUZZ_CHECK(reread.ok());
  FUZZ_CHECK(reread->words() == vocabulary->words());
  FUZZ_CHECK(reread->sha256() == vocabulary->sha256());

  std::vector<int32_t> ids(std::max<size_t>(limit, 1));
  kiln::text::TextEncoder(*vocabulary).Encode(text, absl::MakeSpan(ids));
  for (size_t i = 0; i < ids.size(); ++i) {
    // Every token is in this vocabulary, so none is unknown; padding after.
    if (i < words.size()) {
      FUZZ_CHECK(ids[i] >= 2 && ids[i] < vocabulary->size());
      FUZZ_CHECK(vocabulary->words()[ids[i]] == words[i]);
    } else {
      FUZZ_CHECK(ids[i] == kiln::text::kPaddingId);
    }
  }
  return 0;
}
