#include "services/common/auth/tokens.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/status.h"

namespace kiln::auth {
namespace {

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone: return "none";
    case Role::kReader: return "reader";
    case Role::kWriter: return "writer";
    case Role::kAdmin: return "admin";
  }
  return "none";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  if (name == "reader") return Role::kReader;
  if (name == "writer") return Role::kWriter;
  if (name == "admin") return Role::kAdmin;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown role \"", name, "\": use reader, writer or admin"));
}

absl::Status TokenTable::Add(absl::string_view pair, absl::string_view where) {
  const size_t colon = pair.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": expected role:token, got an entry without ':'"));
  }
  KILN_ASSIGN_OR_RETURN(Role role, ParseRole(pair.substr(0, colon)));
  const absl::string_view token = pair.substr(colon + 1);
  if (token.size() < 16 || token.size() > 256) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": a token must be 16 to 256 characters long, got ", token.size()));
  }
  for (char c : token) {
    if (!IsTokenChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a token may only hold [A-Za-z0-9._~+/=-]"));
    }
  }
  if (absl::StartsWith(token, "change-me")) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": this is a placeholder from deploy/kiln.env.example; set a random token "
               "(e.g. openssl rand -hex 24)"));
  }
  for (const Entry& entry : entries_) {
    if (entry.token == token) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": the same token is listed twice"));
    }
  }
  entries_.push_back({std::string(token), role});
  return absl::OkStatus();
}

absl::StatusOr<TokenTable> TokenTable::FromConfig(absl::string_view pairs, const std::string& file) {
  TokenTable table;
  int index = 0;
  for (absl::string_view pair : absl::StrSplit(pairs, ',', absl::SkipWhitespace())) {
    ++index;
    KILN_RETURN_IF_ERROR(
        table.Add(absl::StripAsciiWhitespace(pair), absl::StrCat("KILN_TOKENS entry ", index)));
  }
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      return absl::NotFoundError(absl::StrCat("cannot read tokens file ", file));
    }
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      absl::string_view entry = absl::StripAsciiWhitespace(line);
      if (entry.empty() || entry.front() == '#') continue;
      KILN_RETURN_IF_ERROR(table.Add(entry, absl::StrCat(file, ":", line_number)));
    }
  }
  return table;
}

Role TokenTable::Lookup(absl::string_view token) const {
  Role found = Role::kNone;
  for (const Entry& entry : entries_) {
    if (ConstantTimeEquals(entry.token, token)) found = entry.role;
  }
  return found;
}

}  // namespace kiln::auth
