// Encoding: tokens to a fixed-length id sequence (docs/preprocessing.md,
// section "Encoding").
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"

namespace kiln::text {

// Fills `ids` (whose size is the max_length) with the ids of the first
// ids.size() tokens, then kPaddingId.
void EncodeTokens(absl::Span<const std::string_view> tokens, const Vocabulary& vocab,
                  absl::Span<int32_t> ids);

// Allocating form; max_length must be at least 1.
absl::StatusOr<std::vector<int32_t>> Encode(absl::Span<const std::string_view> tokens,
                                            const Vocabulary& vocab, int32_t max_length);

// Text to ids in one call, reusing its tokenizer's buffers across texts: the
// hot path of training-data preparation.
class TextEncoder {
 public:
  // `vocab` must outlive the encoder.
  explicit TextEncoder(const Vocabulary& vocab) : vocab_(vocab) {}

  // Scans only as far as the ids.size()-th token.
  void Encode(std::string_view utf8, absl::Span<int32_t> ids) {
    EncodeTokens(tokenizer_.Tokenize(utf8, ids.size()), vocab_, ids);
  }

 private:
  const Vocabulary& vocab_;
  Tokenizer tokenizer_;
};

}  // namespace kiln::text
