// The constants of the text-preprocessing spec (docs/preprocessing.md).
// Anything that changes what a text encodes to must bump kSpecVersion.
#pragma once

#include <cstdint>

// Plain char arrays rather than std::string_view: Debian's absl has its own
// string_view type, and char arrays convert to both.
namespace kiln::text {

inline constexpr char kSpecVersion[] = "kiln-text-1";

// Placeholders replace whole e-mail addresses, URLs and long numbers. The
// angle brackets keep them apart from every word, since '<' and '>' are
// never part of a word token.
inline constexpr char kEmailToken[] = "<email>";
inline constexpr char kUrlToken[] = "<url>";
inline constexpr char kNumberToken[] = "<num>";

// Digit-only tokens at least this long become kNumberToken; shorter ones
// (years, model numbers such as 486, versions) carry topic signal.
inline constexpr int kMinPlaceholderDigits = 5;

// Reserved vocabulary ids and the names they carry in vocab.json.
inline constexpr int32_t kPaddingId = 0;
inline constexpr int32_t kUnknownId = 1;
inline constexpr char kPaddingWord[] = "<pad>";
inline constexpr char kUnknownWord[] = "<oov>";

}  // namespace kiln::text
