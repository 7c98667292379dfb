#include "services/text/tokenizer.h"

#include <algorithm>

#include "services/text/cleaner.h"
#include "services/text/spec.h"

namespace kiln::text {

bool IsToken(std::string_view word) {
  if (word == kEmailToken || word == kUrlToken || word == kNumberToken) return true;
  if (word.empty()) return false;
  bool all_digits = true;
  for (char c : word) {
    const bool digit = c >= '0' && c <= '9';
    if (!digit && !(c >= 'a' && c <= 'z')) return false;
    all_digits = all_digits && digit;
  }
  return !all_digits || word.size() < static_cast<size_t>(kMinPlaceholderDigits);
}

absl::Span<const std::string_view> Tokenizer::Tokenize(std::string_view utf8,
                                                       size_t max_tokens) {
  const size_t text_bound = CleanedSizeBound(utf8.size());
  if (cleaned_.size() < text_bound) cleaned_.resize(text_bound);
  const size_t token_bound = std::min(max_tokens, MaxTokenCount(utf8.size()));
  if (tokens_.size() < token_bound) tokens_.resize(token_bound);
  const size_t count = TokenizeTo(utf8, cleaned_.data(), tokens_.data(), max_tokens);
  return absl::MakeConstSpan(tokens_.data(), count);
}

std::vector<std::string> Tokenize(std::string_view utf8) {
  Tokenizer tokenizer;
  const absl::Span<const std::string_view> views = tokenizer.Tokenize(utf8);
  return std::vector<std::string>(views.begin(), views.end());
}

}  // namespace kiln::text
