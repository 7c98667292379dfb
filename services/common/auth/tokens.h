// Bearer tokens and the roles they grant, read from configuration.
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace kiln::auth {

// Ordered: a higher role may do everything a lower one may.
enum class Role { kNone = 0, kReader = 1, kWriter = 2, kAdmin = 3 };

absl::string_view RoleName(Role role);
absl::StatusOr<Role> ParseRole(absl::string_view name);

class TokenTable {
 public:
  // `pairs`: "role:token,role:token"; `file`: a path to a file with one
  // role:token per line, '#' comments and blank lines allowed. Either may be
  // empty. Tokens are 16..256 characters of [A-Za-z0-9._~+/=-].
  static absl::StatusOr<TokenTable> FromConfig(absl::string_view pairs, const std::string& file);

  // The role of `token`, kNone when it is unknown. Compares in constant time
  // per stored token so a timing probe learns nothing about near misses.
  Role Lookup(absl::string_view token) const;

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string token;
    Role role;
  };
  absl::Status Add(absl::string_view pair, absl::string_view where);

  std::vector<Entry> entries_;
};

}  // namespace kiln::auth
