// Cleaning: UTF-8 text to its canonical token string (docs/preprocessing.md,
// sections "Cleaning" and "Tokens").
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

// Allocating convenience around CleanTextTo.
std::string CleanText(std::string_view utf8);

}  // namespace kiln::text
