// Cleaning: UTF-8 text to its canonical token string (docs/preprocessing.md,
// sections 1 to 3).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kiln::text {

// Room CleanTextTo may need for an input of `input_size` bytes. No rule of
// the spec more than doubles its input (the worst is "a@b.c " -> "<email> ").
constexpr size_t CleanedSizeBound(size_t input_size) {
  return 2 * input_size + 8;
}

// Writes the cleaned form of `utf8` to `out`: the tokens, each separated by
// one space, with no leading or trailing space. `out` must have room for
// CleanedSizeBound(utf8.size()) bytes. Returns the number of bytes written.
// Never reads outside `utf8`; bytes that are not valid UTF-8 are separators.
size_t CleanTextTo(std::string_view utf8, char* out);

// Most tokens a text of `input_size` bytes can hold: every token but the
// last takes at least two bytes (itself and a separator, or a two-byte
// letter before a placeholder).
constexpr size_t MaxTokenCount(size_t input_size) { return input_size / 2 + 1; }

// Tokenizing without a second pass: cleans `utf8` into `out` as CleanTextTo
// does (room for CleanedSizeBound(utf8.size()) bytes) and writes a view of
// each of its first `max_tokens` tokens, pointing into `out`, to `tokens`
// (room for min(max_tokens, MaxTokenCount(utf8.size())) views). Stops once
// it has them, as encoding needs no more. Returns the number of tokens.
size_t TokenizeTo(std::string_view utf8, char* out, std::string_view* tokens,
                  size_t max_tokens);

// Allocating convenience around CleanTextTo.
std::string CleanText(std::string_view utf8);

}  // namespace kiln::text
