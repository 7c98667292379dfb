#include "services/common/validation.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace kiln {

namespace {

// The length of the well-formed UTF-8 sequence at p, or 0 when there is none.
int Utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = *p;
  if (c < 0x80) return 1;
  int length;
  uint32_t code_point;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
    code_point = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    code_point = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    code_point = c & 0x07;
  } else {
    return 0;  // continuation byte, overlong lead (C0/C1) or > U+10FFFF
  }
  if (end - p < length) return 0;
  for (int i = 1; i < length; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (p[i] & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
  if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000) ||
      (code_point >= 0xD800 && code_point <= 0xDFFF) || code_point > 0x10FFFF) {
    return 0;
  }
  return length;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // Skip ASCII eight bytes at a time: most posts are nearly all ASCII.
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if (word & 0x8080808080808080ull) break;
      p += 8;
    }
    if (p == end) break;
    const int length = Utf8SequenceLength(p, end);
    if (length == 0) return false;
    p += length;
  }
  return true;
}

std::string EchoableUtf8(absl::string_view text, size_t max_bytes) {
  constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const int length = Utf8SequenceLength(p, end);
    const size_t width = length > 0 ? length : kReplacement.size();
    if (out.size() + width > max_bytes) break;
    if (length > 0) {
      out.append(reinterpret_cast<const char*>(p), length);
      p += length;
    } else {
      out.append(kReplacement.data(), kReplacement.size());
      ++p;
    }
  }
  return out;
}

bool IsValidCategory(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '+' || c == '-';
  });
}

absl::Status ValidateYearRanges(
    const google::protobuf::RepeatedPtrField<kiln::v1::YearRange>& ranges,
    absl::string_view field) {
  if (ranges.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": at least one year range is needed"));
  }
  std::vector<std::pair<int, int>> sorted;
  for (int i = 0; i < ranges.size(); ++i) {
    const auto& range = ranges[i];
    if (range.first() < 1 || range.first() > 9999 || range.last() < range.first() ||
        range.last() > 9999) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", i, "]: year range ", range.first(), "-", range.last(),
          " is invalid; years must satisfy 1 <= first <= last <= 9999"));
    }
    sorted.emplace_back(range.first(), range.last());
  }
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].first <= sorted[i - 1].second) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": year ranges ", sorted[i - 1].first, "-", sorted[i - 1].second, " and ",
          sorted[i].first, "-", sorted[i].second, " overlap"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDatasetSpec(const kiln::v1::DatasetSpec& spec, absl::string_view field) {
  if (spec.categories().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".categories: at least one category is needed"));
  }
  if (spec.categories_size() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".categories: at most 1000 categories, got ", spec.categories_size()));
  }
  std::set<absl::string_view> seen;
  for (int i = 0; i < spec.categories_size(); ++i) {
    const std::string& name = spec.categories(i);
    if (!IsValidCategory(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".categories[", i, "]: \"", absl::CEscape(name).substr(0, 140),
          "\" is not a category name (1..128 characters of A-Z a-z 0-9 . _ + -)"));
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".categories[", i, "]: \"", name, "\" is listed twice"));
    }
  }
  for (int i = 0; i < spec.sources_size(); ++i) {
    if (spec.sources(i).empty() || spec.sources(i).size() > 512 ||
        !IsValidUtf8(spec.sources(i))) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".sources[", i, "]: must be 1..512 bytes of UTF-8"));
    }
  }
  if (spec.has_holdout()) {
    const kiln::v1::Holdout& holdout = spec.holdout();
    if (!(holdout.fraction() > 0 && holdout.fraction() < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".holdout.fraction is ", holdout.fraction(),
          "; allowed: (0, 1), or leave holdout unset to read every post"));
    }
    if (holdout.side() != kiln::v1::HOLDOUT_SIDE_REST &&
        holdout.side() != kiln::v1::HOLDOUT_SIDE_HELD_OUT) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".holdout.side must be HOLDOUT_SIDE_REST or HOLDOUT_SIDE_HELD_OUT"));
    }
  }
  return ValidateYearRanges(spec.years(), absl::StrCat(field, ".years"));
}

absl::Status ValidatePageSize(int page_size) {
  if (page_size >= 0 && page_size <= 500) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("page_size ", page_size, " is outside 1..500 (0 means the default, 50)"));
}

}  // namespace kiln
