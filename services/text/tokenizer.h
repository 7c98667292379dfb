// Tokenizing: cleaned text split into tokens (docs/preprocessing.md,
// section "Tokens").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"

namespace kiln::text {

// Whether cleaning can produce `word` as one token: [a-z0-9]+ other than a
// digit-only run long enough to become kNumberToken, or a placeholder.
bool IsToken(std::string_view word);

// Tokenizes texts one after another while reusing its buffers, so the hot
// path allocates nothing once the buffers have grown to the largest text.
class Tokenizer {
 public:
  // The first `max_tokens` tokens of `utf8`, as views into this tokenizer's
  // buffer: valid until the next call.
  absl::Span<const std::string_view> Tokenize(std::string_view utf8,
                                              size_t max_tokens = SIZE_MAX);

 private:
  // Grown, never shrunk: shrinking would make the next long text reallocate.
  std::vector<char> cleaned_;
  std::vector<std::string_view> tokens_;
};

// Allocating convenience for tests and one-off callers.
std::vector<std::string> Tokenize(std::string_view utf8);

}  // namespace kiln::text
