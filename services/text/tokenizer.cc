#include "services/text/tokenizer.h"

#include <cstring>

#include "services/text/cleaner.h"
#include "services/text/spec.h"

namespace kiln::text {

void SplitCleanText(std::string_view cleaned, std::vector<std::string_view>* tokens) {
  const char* p = cleaned.data();
  const char* const end = p + cleaned.size();
  while (p != end) {
    const void* space = std::memchr(p, ' ', static_cast<size_t>(end - p));
    const char* token_end = space ? static_cast<const char*>(space) : end;
    tokens->emplace_back(p, static_cast<size_t>(token_end - p));
    p = token_end == end ? end : token_end + 1;
  }
}

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

const std::vector<std::string_view>& Tokenizer::Tokenize(std::string_view utf8) {
  // Grow only: shrinking would make the next long text reallocate and refill.
  const size_t bound = CleanedSizeBound(utf8.size());
  if (cleaned_.size() < bound) cleaned_.resize(bound);
  const size_t size = CleanTextTo(utf8, cleaned_.data());
  tokens_.clear();
  SplitCleanText(std::string_view(cleaned_.data(), size), &tokens_);
  return tokens_;
}

std::vector<std::string> Tokenize(std::string_view utf8) {
  const std::string cleaned = CleanText(utf8);
  std::vector<std::string_view> views;
  SplitCleanText(cleaned, &views);
  return std::vector<std::string>(views.begin(), views.end());
}

}  // namespace kiln::text
