#include "services/common/names.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/validation.h"

namespace kiln {
namespace {

constexpr size_t kMaxPathBytes = 255;
constexpr char kModelNameRule[] = "[a-z0-9][a-z0-9._-]{0,63}";
constexpr char kAliasNameRule[] = "[a-z][a-z0-9_-]{0,31}";

bool IsLowerOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// `first` is checked against the first character only; `rest` against the
// others.
template <typename First, typename Rest>
bool MatchesName(absl::string_view name, size_t max_length, First first, Rest rest) {
  if (name.empty() || name.size() > max_length || !first(name[0])) return false;
  for (char c : name.substr(1)) {
    if (!rest(c)) return false;
  }
  return true;
}

}  // namespace

bool IsValidModelName(absl::string_view name) {
  return MatchesName(name, 64, IsLowerOrDigit,
                     [](char c) { return IsLowerOrDigit(c) || c == '.' || c == '_' || c == '-'; });
}

bool IsValidAliasName(absl::string_view name) {
  return MatchesName(
      name, 32, [](char c) { return c >= 'a' && c <= 'z'; },
      [](char c) { return IsLowerOrDigit(c) || c == '_' || c == '-'; });
}

absl::Status ValidateModelName(absl::string_view name, absl::string_view field) {
  if (IsValidModelName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " \"", absl::CEscape(name), "\" must match ", kModelNameRule));
}

absl::Status ValidateAliasName(absl::string_view name, absl::string_view field) {
  if (IsValidAliasName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " \"", absl::CEscape(name), "\" must match ", kAliasNameRule));
}

absl::Status ValidateFilePath(absl::string_view path) {
  auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("file path \"", absl::CEscape(path), "\" ", why));
  };
  if (path.empty()) return absl::InvalidArgumentError("file path is empty");
  if (path.size() > kMaxPathBytes) {
    return absl::InvalidArgumentError(absl::StrCat("file path of ", path.size(),
                                                   " bytes is longer than ", kMaxPathBytes));
  }
  if (!IsValidUtf8(path)) return refuse("is not valid UTF-8");
  for (char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return refuse("contains a control character");
    if (c == '\\') return refuse("contains a backslash");
  }
  if (path.front() == '/') return refuse("is absolute");
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty()) return refuse("has an empty segment");
    if (segment == "." || segment == "..") return refuse("has a \".\" or \"..\" segment");
  }
  return absl::OkStatus();
}

}  // namespace kiln
