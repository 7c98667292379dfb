#include "services/text/encoder.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kiln::text {

void EncodeTokens(absl::Span<const std::string_view> tokens, const Vocabulary& vocab,
                  absl::Span<int32_t> ids) {
  const size_t kept = std::min(tokens.size(), ids.size());
  for (size_t i = 0; i < kept; ++i) ids[i] = vocab.IdOf(tokens[i]);
  std::fill(ids.begin() + kept, ids.end(), kPaddingId);
}

absl::StatusOr<std::vector<int32_t>> Encode(absl::Span<const std::string_view> tokens,
                                            const Vocabulary& vocab, int32_t max_length) {
  if (max_length < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_length must be at least 1, got ", max_length));
  }
  std::vector<int32_t> ids(static_cast<size_t>(max_length));
  EncodeTokens(tokens, vocab, absl::MakeSpan(ids));
  return ids;
}

}  // namespace kiln::text
